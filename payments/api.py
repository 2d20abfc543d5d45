from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import billing_details_remember
from billing import selectors
from billing.models import OrderStatus
from billing.serializers import (
    OrderCreateSerializer,
    OrderSerializer,
    PlanSerializer,
    VerifyRequestSerializer,
    VerifyResponseSerializer,
)
from core.api_errors import (
    AUTHENTICATED,
    error_responses,
    status_filter_parameter,
    status_filter_value,
)
from sshkeys.services import UnknownSSHKeys, ssh_keys_owned

from . import services
from .gateways import GatewayError
from .recurring import ContactInvalid, recurring_customer_ensure


@extend_schema_view(get=extend_schema(responses={200: PlanSerializer, **error_responses(404, 429)}))
class PlanListView(generics.ListAPIView):
    serializer_class = PlanSerializer
    permission_classes = [AllowAny]

    def get_queryset(self):
        return selectors.active_plans()


@extend_schema_view(
    get=extend_schema(
        parameters=[status_filter_parameter(OrderStatus.choices)],
        responses={200: OrderSerializer, **error_responses(400, 404, *AUTHENTICATED)},
    )
)
class OrderListCreateView(generics.ListAPIView):
    serializer_class = OrderSerializer

    def get_queryset(self):
        orders = selectors.orders_with_documents_for_user(self.request.user)
        if status_filter := status_filter_value(self.request, OrderStatus.choices):
            orders = orders.filter(status=status_filter)
        return orders

    @extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OrderSerializer,
            **error_responses(
                400,
                *AUTHENTICATED,
                503,
                e400="Unknown or inactive plan, a bad billing cycle, an SSH key that is not the caller's, "
                "a GSTIN that is malformed or of another state than billing_state, or no place of supply "
                "(no billing_state or GSTIN given and none saved), or autopay without a usable mobile number.",
            ),
        },
    )
    def post(self, request):
        serializer = OrderCreateSerializer(data=request.data, context={"user": request.user})
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        buyer = data["buyer"]
        if data["buyer_given"]:
            billing_details_remember(request.user, **buyer)
        try:
            ssh_keys = ssh_keys_owned(request.user, data["ssh_keys"])
        except UnknownSSHKeys as exc:
            raise ValidationError({"ssh_keys": [str(exc)]}) from exc
        try:
            customer = recurring_customer_ensure(request.user, data.get("contact")) if data["autopay"] else None
            order = services.order_create(
                user=request.user,
                plan=serializer.validated_data["plan"],
                billing_cycle_months=serializer.validated_data["billing_cycle_months"],
                source="api",
                buyer=buyer,
                ssh_keys=ssh_keys,
                recurring_customer=customer,
            )
        except ContactInvalid as exc:
            raise ValidationError({"contact": [str(exc)]}) from exc
        except services.OrderError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        except GatewayError as exc:
            return Response({"detail": exc.customer_message}, status=status.HTTP_503_SERVICE_UNAVAILABLE)
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


@extend_schema_view(get=extend_schema(responses={200: OrderSerializer, **error_responses(404, *AUTHENTICATED)}))
class OrderDetailView(generics.RetrieveAPIView):
    serializer_class = OrderSerializer
    lookup_field = "number"

    def get_queryset(self):
        return selectors.orders_with_documents_for_user(self.request.user)


class PaymentVerifyView(APIView):
    """What Razorpay Checkout's `handler` receives, posted back to confirm a payment."""

    @extend_schema(
        request=VerifyRequestSerializer,
        responses={
            200: VerifyResponseSerializer,
            202: VerifyResponseSerializer,
            **error_responses(400, 404, *AUTHENTICATED, e400="Bad signature or body; nothing recorded."),
        },
    )
    def post(self, request):
        serializer = VerifyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result = services.payment_verify(user=request.user, **serializer.validated_data)
        except services.OrderNotFound as exc:
            raise NotFound("No such order.") from exc
        except services.PaymentSignatureInvalid as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        server = {"id": result.server.pk, "status": result.server.status} if result.server else None
        body = {"order": result.order.number, "order_status": result.order.status, "server": server}
        if not result.confirmed:
            body.update(order_status=result.order.status, server=None, detail=result.detail)
            return Response(body, status=status.HTTP_202_ACCEPTED)
        return Response(body, status=status.HTTP_200_OK)
