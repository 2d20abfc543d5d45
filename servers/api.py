from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics

from hostingportal.api_errors import AUTHENTICATED, error_responses, status_filter_parameter, status_filter_value

from . import selectors
from .models import ServerStatus
from .serializers import ServerSerializer


@extend_schema_view(
    get=extend_schema(
        parameters=[status_filter_parameter(ServerStatus.choices)],
        responses={200: ServerSerializer, **error_responses(400, 404, *AUTHENTICATED)},
    )
)
class ServerListView(generics.ListAPIView):
    serializer_class = ServerSerializer

    def get_queryset(self):
        servers = selectors.servers_for_user(self.request.user)
        if status := status_filter_value(self.request, ServerStatus.choices):
            servers = servers.filter(status=status)
        return servers


@extend_schema_view(get=extend_schema(responses={200: ServerSerializer, **error_responses(404, *AUTHENTICATED)}))
class ServerDetailView(generics.RetrieveAPIView):
    serializer_class = ServerSerializer

    def get_queryset(self):
        return selectors.servers_for_user(self.request.user)
