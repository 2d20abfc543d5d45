from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from rest_framework import serializers

from accounts.models import BILLING_ADDRESS_MAX, BILLING_NAME_MAX

from .gst import STATE_CHOICES, STATE_CODES, gstin_validate
from .models import BILLING_CYCLES, HostingPlan, Order

NO_PLACE_OF_SUPPLY = (
    "Say where the service is supplied: billing_state (a state or union territory) or a GSTIN. "
    "Your saved billing details have no state, and CGST + SGST or IGST depends on it."
)


class PlanSerializer(serializers.ModelSerializer):
    currency = serializers.SerializerMethodField()

    class Meta:
        model = HostingPlan
        fields = ["slug", "name", "price_paise", "currency", "vcpu", "ram_gb", "disk_gb"]

    def get_currency(self, plan) -> str:
        return "INR"


class OrderCreateSerializer(serializers.Serializer):
    plan = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=HostingPlan.objects.filter(is_active=True),
        error_messages={"does_not_exist": "No active plan with slug “{value}”."},
    )
    billing_cycle_months = serializers.ChoiceField(choices=BILLING_CYCLES, default=1)
    ssh_keys = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=10,
        help_text="Ids of the caller's own SSH keys (GET /api/v1/ssh-keys/) to install on the new server.",
    )
    autopay = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Pay renewals automatically by e-mandate: paying this order registers it (needs `contact`).",
    )
    contact = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="Mobile number for autopay, 10 digits, optionally after +91; remembered for later orders.",
    )

    def validate_contact(self, value):
        return contact_validate(value)

    # The buyer as the tax invoice names them; each left out is taken from the caller's
    # saved billing details (the checkout page's), and what is given is saved there.
    billing_name = serializers.CharField(max_length=BILLING_NAME_MAX, required=False, allow_blank=True)
    billing_address = serializers.CharField(max_length=BILLING_ADDRESS_MAX, required=False, allow_blank=True)
    billing_state = serializers.ChoiceField(
        choices=STATE_CHOICES,
        required=False,
        help_text="The state or union territory of supply: decides CGST + SGST or IGST.",
    )
    gstin = serializers.CharField(
        max_length=20, required=False, allow_blank=True, help_text="For GST-registered buyers: 15 characters."
    )

    def validate(self, attrs):
        """The buyer, completed from the saved details, with a known place of supply: a
        customer with no state anywhere was charged CGST + SGST for the seller's state."""
        user = self.context["user"]
        given = {key for key in ("billing_name", "billing_address", "billing_state", "gstin") if key in attrs}
        gstin = attrs.get("gstin", "" if "billing_state" in attrs else user.gstin)
        state = attrs.get("billing_state") or (user.billing_state if "gstin" not in attrs or not gstin else "")
        if gstin:
            try:
                gstin = gstin_validate(gstin, state)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"gstin": exc.messages}) from exc
            state = state or STATE_CODES[gstin[:2]]
        if not state:
            raise serializers.ValidationError({"billing_state": [NO_PLACE_OF_SUPPLY]})
        attrs["buyer"] = {
            "name": attrs.get("billing_name", user.billing_name),
            "address": attrs.get("billing_address", user.billing_address),
            "state": state,
            "gstin": gstin,
        }
        attrs["buyer_given"] = bool(given)
        return attrs


def contact_validate(value):
    """A mobile number given for autopay: 10 digits, optionally after +91; blank is "the remembered one"."""
    from .recurring import ContactInvalid, contact_parse

    if not value:
        return ""
    try:
        return contact_parse(value)
    except ContactInvalid as exc:
        raise serializers.ValidationError(str(exc)) from exc


class RazorpayCheckoutSerializer(serializers.Serializer):
    key_id = serializers.CharField()
    # null while the order has no Razorpay order yet: a renewal issued by run_billing, or an
    # order whose Razorpay call failed at checkout (paying it creates one).
    order_id = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField()
    currency = serializers.CharField()
    customer_id = serializers.CharField(required=False, help_text="Autopay orders only: for Checkout.")
    recurring = serializers.CharField(required=False, help_text='Autopay orders only: "1", for Checkout.')


class InvoiceLinkSerializer(serializers.Serializer):
    number = serializers.CharField()
    date = serializers.DateField()
    url = serializers.CharField()
    pdf_url = serializers.CharField()


class CreditNoteLinkSerializer(InvoiceLinkSerializer):
    amount_paise = serializers.IntegerField()


def absolute(request, path):
    return request.build_absolute_uri(path) if request is not None else path


class OrderSerializer(serializers.ModelSerializer):
    plan = serializers.CharField(source="plan_slug")
    server = serializers.SerializerMethodField()
    razorpay = serializers.SerializerMethodField()
    refunded_paise = serializers.SerializerMethodField()
    invoice = serializers.SerializerMethodField()
    credit_notes = serializers.SerializerMethodField()
    autopay = serializers.SerializerMethodField(help_text="Paying this order registers autopay.")

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "kind",
            "autopay",
            "plan",
            "billing_cycle_months",
            "subtotal_paise",
            "tax_paise",
            "total_paise",
            "currency",
            "server",
            "razorpay",
            "refunded_paise",
            "invoice",
            "credit_notes",
            "created_at",
            "paid_at",
        ]

    def get_refunded_paise(self, order) -> int:
        from .selectors import order_refunded_paise

        return order_refunded_paise(order)

    def get_invoice(self, order) -> InvoiceLinkSerializer(allow_null=True):
        document = getattr(order, "tax_invoice", None) if order.status in ("paid", "refunded") else None
        if document is None:
            return None
        request = self.context.get("request")
        return {
            "number": document.number,
            "date": document.issued_on.isoformat(),
            "url": absolute(request, reverse("billing:invoice", args=[order.number])),
            "pdf_url": absolute(request, reverse("billing:invoice-pdf", args=[order.number])),
        }

    def get_credit_notes(self, order) -> CreditNoteLinkSerializer(many=True):
        request = self.context.get("request")
        return [
            {
                "number": note.number,
                "date": note.issued_on.isoformat(),
                "amount_paise": note.amount_paise,
                "url": absolute(request, reverse("billing:credit-note", args=[order.number, note.pk])),
                "pdf_url": absolute(request, reverse("billing:credit-note-pdf", args=[order.number, note.pk])),
            }
            for note in order.credit_notes.all()
        ]

    def get_server(self, order) -> int | None:
        """The server the order bought, or for a renewal (an upgrade) the server it extends (moves)."""
        if order.kind == Order.Kind.RENEWAL:
            return order.renews_server_id
        if order.kind == Order.Kind.UPGRADE:
            return order.upgrades_server_id
        server = getattr(order, "server", None)
        return server.pk if server else None

    @staticmethod
    def razorpay_block(order):
        from django.conf import settings

        block = {
            "key_id": settings.RAZORPAY_KEY_ID,
            "order_id": order.razorpay_order_id,
            "amount": order.total_paise,
            "currency": order.currency,
        }
        if recurring := order.payment_metadata.get("recurring"):
            block.update(customer_id=recurring["customer_id"], recurring="1")
        return block

    def get_autopay(self, order) -> bool:
        return bool(order.payment_metadata.get("recurring"))

    def get_razorpay(self, order) -> RazorpayCheckoutSerializer:
        return self.razorpay_block(order)


class VerifyRequestSerializer(serializers.Serializer):
    razorpay_order_id = serializers.CharField(max_length=64)
    razorpay_payment_id = serializers.CharField(max_length=64)
    razorpay_signature = serializers.CharField(max_length=128)


class VerifyServerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class VerifyResponseSerializer(serializers.Serializer):
    order = serializers.CharField()
    order_status = serializers.CharField()
    server = VerifyServerSerializer(allow_null=True)
    detail = serializers.CharField(required=False)
