from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Server
from .selectors import unpaid_renewals


class AutopaySerializer(serializers.Serializer):
    status = serializers.CharField()
    max_amount_paise = serializers.IntegerField()
    method = serializers.CharField()


class PlanChangeSerializer(serializers.Serializer):
    plan = serializers.CharField(help_text="The plan the server moves to.")
    at = serializers.DateTimeField(help_text="When: the end of the period paid now (paid_until).")


class ServerSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan.slug", read_only=True)
    order = serializers.CharField(source="order.number", read_only=True)
    renewal = serializers.SerializerMethodField(help_text="Number of the server's unpaid renewal order, or null.")
    autopay = serializers.SerializerMethodField(
        help_text="The server's autopay mandate (its latest), or null: status, max_amount_paise, method."
    )
    plan_change = serializers.SerializerMethodField(help_text="A scheduled downgrade, or null.")

    class Meta:
        model = Server
        fields = [
            "id",
            "name",
            "hostname",
            "ip_address",
            "status",
            "plan",
            "order",
            "created_at",
            "paid_until",
            "billing_cycle_months",
            "renewal",
            "cancel_at_period_end",
            "suspension_reason",
            "power_state",
            "plan_change",
            "autopay",
        ]

    @extend_schema_field(PlanChangeSerializer(allow_null=True))
    def get_plan_change(self, server) -> dict | None:
        if not server.plan_change_to_id:
            return None
        return {
            "plan": server.plan_change_to.slug,
            "at": serializers.DateTimeField().to_representation(server.plan_change_at),
        }

    def get_renewal(self, server) -> str | None:
        if hasattr(server, "renewal_number"):  # annotated by servers_for_user
            return server.renewal_number
        return unpaid_renewals(server.pk).values_list("number", flat=True).first()

    def get_autopay(self, server) -> AutopaySerializer(allow_null=True):
        if hasattr(server, "autopay_latest"):  # annotated by servers_for_user
            return server.autopay_latest
        # The subscription layer's mandates, through their relation's name; newest first.
        mandate = server.autopay_mandates.first()
        if mandate is None:
            return None
        return {"status": mandate.status, "max_amount_paise": mandate.max_amount_paise, "method": mandate.method}
