from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import AUTHENTICATED, error_responses
from core.hygiene import CheckedMultiPartParser

from . import selectors, services
from .models import Ticket
from .serializers import (
    MessageCreateSerializer,
    MessageSerializer,
    TicketCreateSerializer,
    TicketDetailSerializer,
    TicketSerializer,
)
from .uploads import AttachmentRefused, upload_limit_install


@extend_schema_view(get=extend_schema(responses={200: TicketSerializer, **error_responses(404, *AUTHENTICATED)}))
class TicketListCreateView(generics.ListAPIView):
    serializer_class = TicketSerializer

    def get_queryset(self):
        return selectors.tickets_for_user(self.request.user)

    @extend_schema(
        request=TicketCreateSerializer,
        responses={201: TicketDetailSerializer, **error_responses(400, *AUTHENTICATED)},
    )
    def post(self, request):
        serializer = TicketCreateSerializer(
            data=request.data, context={"servers": selectors.servers_for_ticket_form(request.user)}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        ticket = services.ticket_create(
            user=request.user, subject=data["subject"], body=data["body"], server=data.get("server")
        )
        return Response(ticket_detail_data(request, ticket.pk), status=status.HTTP_201_CREATED)


class TicketDetailView(APIView):
    @extend_schema(
        responses={200: TicketDetailSerializer, **error_responses(404, *AUTHENTICATED, e404="Not your ticket")}
    )
    def get(self, request, pk):
        return Response(ticket_detail_data(request, pk))


class TicketMessageCreateView(APIView):
    parser_classes = [CheckedMultiPartParser, FormParser, JSONParser]

    def initial(self, request, *args, **kwargs):
        # Before authentication, which may read the body for the CSRF check of session users.
        self.upload_limit = upload_limit_install(request) if request.method == "POST" else None
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={"multipart/form-data": MessageCreateSerializer},
        responses={
            201: MessageSerializer,
            **error_responses(
                400,
                404,
                *AUTHENTICATED,
                e400="Missing body, or an attachment refused (the message names the rule)",
                e404="Not your ticket",
            ),
        },
    )
    def post(self, request, pk):
        ticket = ticket_or_404(request.user, pk)
        data = request.data  # parses the body; the limit handler runs now
        if self.upload_limit.error:
            raise ValidationError({"attachments": [self.upload_limit.error]})
        serializer = MessageCreateSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            message = services.message_add(
                ticket=ticket,
                author=request.user,
                body=serializer.validated_data["body"],
                files=serializer.validated_data["attachments"],
            )
        except AttachmentRefused as exc:
            raise ValidationError({"attachments": [str(exc)]}) from exc
        except services.TicketError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(MessageSerializer(message, context={"request": request}).data, status=status.HTTP_201_CREATED)


# The API treats every caller as a customer, staff included: their own tickets only,
# never internal notes. Staff work other customers' tickets in the admin.
def ticket_or_404(user, pk):
    try:
        return selectors.tickets_for_user(user).get(pk=pk)
    except Ticket.DoesNotExist as exc:
        raise NotFound("No such ticket.") from exc


def ticket_detail_data(request, pk):
    try:
        ticket = selectors.ticket_with_thread(selectors.tickets_for_user(request.user), pk)
    except Ticket.DoesNotExist as exc:
        raise NotFound("No such ticket.") from exc
    return TicketDetailSerializer(ticket, context={"request": request}).data
