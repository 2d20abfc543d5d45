from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import AUTHENTICATED, error_responses, status_filter_parameter, status_filter_value
from sshkeys.selectors import ssh_keys_for_user

from . import selectors
from .models import ServerStatus
from .power import POWER_ACTIONS, PowerActionRefused, PowerRateLimited, power_request
from .serializers import ServerSerializer
from .ssh_keys import KeyInstallRefused, key_install_request


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


# A string with its values in the description, not an enum: drf-spectacular makes
# every enum a shared component, and with this one in the body schemathesis's
# stateful phase (CI's API fuzzer) stops with an internal PointerToNowhere error.
# Any other value is still a 400.
@extend_schema_field({"type": "string", "description": "One of: " + ", ".join(POWER_ACTIONS)})
class PowerActionField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=POWER_ACTIONS, **kwargs)


class ServerActionSerializer(serializers.Serializer):
    action = PowerActionField()


class ServerActionAcceptedSerializer(serializers.Serializer):
    action = serializers.CharField()
    status = serializers.CharField()


class ServerActionView(APIView):
    """Reboot, stop or start the caller's active server; the worker does it through the backend."""

    @extend_schema(
        request=ServerActionSerializer,
        responses={
            202: ServerActionAcceptedSerializer,
            **error_responses(
                400, 404, 409, *AUTHENTICATED, e409="Not active, another operation in flight, or already in that state."
            ),
        },
    )
    def post(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        serializer = ServerActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action = serializer.validated_data["action"]
        try:
            power_request(server.pk, action=action, user=request.user, source="api")
        except PowerRateLimited as exc:
            headers = {"Retry-After": str(exc.retry_after_seconds)}
            return Response({"detail": str(exc)}, status=status.HTTP_429_TOO_MANY_REQUESTS, headers=headers)
        except PowerActionRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response({"action": action, "status": "queued"}, status=status.HTTP_202_ACCEPTED)


class ServerSSHKeySerializer(serializers.Serializer):
    key = serializers.IntegerField(help_text="The id of one of your SSH keys (GET /api/v1/ssh-keys/).")


class ServerSSHKeyAcceptedSerializer(serializers.Serializer):
    key = serializers.IntegerField()
    fingerprint = serializers.CharField()
    status = serializers.CharField()


class ServerSSHKeyView(APIView):
    """Install one of the caller's SSH keys on their active server, beside the keys already there
    (for a customer who ordered without a key, or has a new computer); the worker does it through the
    backend, and the server's sign-in details list the key once it is done. Not every provider can."""

    @extend_schema(
        request=ServerSSHKeySerializer,
        responses={
            202: ServerSSHKeyAcceptedSerializer,
            **error_responses(
                400,
                404,
                409,
                *AUTHENTICATED,
                e400="No `key`, or not the id of one of your SSH keys.",
                e409="Not active, being terminated, the key is already installed or being installed, "
                "or the provider cannot add a key to a running server (`detail` says what to do instead).",
            ),
        },
    )
    def post(self, request, pk):
        server = get_object_or_404(selectors.servers_for_user(request.user), pk=pk)
        serializer = ServerSSHKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = ssh_keys_for_user(request.user).filter(pk=serializer.validated_data["key"]).first()
        if key is None:
            return Response({"key": ["Not one of your SSH keys."]}, status=status.HTTP_400_BAD_REQUEST)
        try:
            key_install_request(server.pk, key=key, user=request.user, source="api")
        except KeyInstallRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(
            {"key": key.pk, "fingerprint": key.fingerprint, "status": "queued"}, status=status.HTTP_202_ACCEPTED
        )
