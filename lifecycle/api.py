"""The customer's lifecycle API: renew a server, cancel it at period end (or not)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.models import BILLING_CYCLES
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
