"""The customer's lifecycle API: renew a server, cancel it at period end (or not)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import BILLING_CYCLES, HostingPlan, Order
from billing.recurring import ContactInvalid
from billing.serializers import OrderSerializer, contact_validate
from billing.services import OrderError
from core.api_errors import AUTHENTICATED, error_responses
from payments.gateways import GatewayError
from payments.recurring import recurring_customer_ensure
from payments.services import order_gateway_ensure
from servers import selectors
from servers.serializers import ServerSerializer

from .autopay.mandates import AutopayRefused, mandate_turn_off
from .plan_changes import PlanChangeInvalid, PlanChangeRefused, plan_change_cancel, plan_change_request
from .renewals import RenewalRefused, cancellation_set, renewal_issue


class RenewRequestSerializer(serializers.Serializer):
    billing_cycle_months = serializers.ChoiceField(choices=BILLING_CYCLES, required=False)
    autopay = serializers.BooleanField(
        required=False, default=False, help_text="Paying this renewal registers autopay for later ones."
    )
    contact = serializers.CharField(
        required=False, allow_blank=True, max_length=20, help_text="Mobile number for autopay (remembered)."
    )

    def validate_contact(self, value):
        return contact_validate(value)


class ServerRenewView(APIView):
    """The server's unpaid renewal order (created if there is none, replaced for another
    cycle), with its Razorpay order to pay it by Checkout."""

    @extend_schema(
        request=RenewRequestSerializer,
        responses={
            200: OrderSerializer,
            **error_responses(400, 404, 409, *AUTHENTICATED, 503, e409="Terminated, or cancelled at period end."),
        },
    )
    def post(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        serializer = RenewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            customer = recurring_customer_ensure(request.user, data.get("contact")) if data["autopay"] else None
            order = renewal_issue(
                server.pk,
                billing_cycle_months=data.get("billing_cycle_months"),
                source="api",
                actor=request.user,
                recurring_customer=customer,
            )
            order = order_gateway_ensure(order)  # the customer is about to pay: now it needs a Razorpay order
        except RenewalRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        except ContactInvalid as exc:
            raise ValidationError({"contact": [str(exc)]}) from exc
        except OrderError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        except GatewayError as exc:
            return Response({"detail": exc.customer_message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(OrderSerializer(order).data, status=status.HTTP_200_OK)


class ServerCancellationView(APIView):
    """Cancel at period end (POST) or withdraw that (DELETE)."""

    def switch(self, request, pk, cancel):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        try:
            cancellation_set(server.pk, cancel=cancel, source="api", actor=request.user)
        except RenewalRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        server = selectors.servers_for_user(request.user).get(pk=server.pk)
        return Response(ServerSerializer(server).data, status=status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={200: ServerSerializer, **error_responses(404, 409, *AUTHENTICATED, e409="Terminated.")},
    )
    def post(self, request, pk):
        return self.switch(request, pk, True)

    @extend_schema(
        request=None,
        responses={200: ServerSerializer, **error_responses(404, 409, *AUTHENTICATED, e409="Terminated.")},
    )
    def delete(self, request, pk):
        return self.switch(request, pk, False)


class ServerAutopayView(APIView):
    """Turn autopay off: no debit is asked from now on, and the token is cancelled at Razorpay."""

    @extend_schema(
        request=None,
        responses={200: ServerSerializer, **error_responses(404, 409, *AUTHENTICATED, e409="Autopay is not on.")},
    )
    def delete(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        try:
            mandate_turn_off(server.pk, source="api", actor=request.user)
        except AutopayRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        server = selectors.servers_for_user(request.user).get(pk=server.pk)
        return Response(ServerSerializer(server).data, status=status.HTTP_200_OK)


class PlanChangeRequestSerializer(serializers.Serializer):
    plan = serializers.SlugField(help_text="The slug of the plan to move to.")


class ServerPlanChangeView(APIView):
    """Move the server to another plan (POST): a dearer one now, by an `upgrade` order to
    pay (201); a cheaper one from the end of the paid period (200, the server). DELETE
    withdraws a scheduled downgrade or an unpaid upgrade order (200, the server)."""

    @extend_schema(
        request=PlanChangeRequestSerializer,
        responses={
            200: ServerSerializer,
            201: OrderSerializer,
            **error_responses(
                400, 404, 409, *AUTHENTICATED, 503, e409="Not active, cancelled at period end, or an order being paid."
            ),
        },
    )
    def post(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        serializer = PlanChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        plan = HostingPlan.objects.filter(slug=serializer.validated_data["plan"]).first()
        try:
            result = plan_change_request(server.pk, plan, source="api", actor=request.user)
            if isinstance(result, Order):
                order = order_gateway_ensure(result)  # the customer is about to pay it
                return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)
        except PlanChangeInvalid as exc:
            raise ValidationError({"plan": [str(exc)]}) from exc
        except (PlanChangeRefused, OrderError) as exc:
            status_code = status.HTTP_400_BAD_REQUEST if isinstance(exc, OrderError) else status.HTTP_409_CONFLICT
            return Response({"detail": str(exc)}, status=status_code)
        except GatewayError as exc:
            return Response({"detail": exc.customer_message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        server = selectors.servers_for_user(request.user).get(pk=server.pk)
        return Response(ServerSerializer(server).data, status=status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={200: ServerSerializer, **error_responses(404, 409, *AUTHENTICATED, e409="An order being paid.")},
    )
    def delete(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        try:
            plan_change_cancel(server.pk, source="api", actor=request.user)
        except PlanChangeRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        server = selectors.servers_for_user(request.user).get(pk=server.pk)
        return Response(ServerSerializer(server).data, status=status.HTTP_200_OK)
