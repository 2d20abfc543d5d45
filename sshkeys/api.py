from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from core.api_errors import AUTHENTICATED, error_responses

from . import selectors, services
from .parsing import InvalidSSHKey
from .serializers import SSHKeyCreateSerializer, SSHKeySerializer


@extend_schema_view(get=extend_schema(responses={200: SSHKeySerializer, **error_responses(404, *AUTHENTICATED)}))
class SSHKeyListCreateView(generics.ListAPIView):
    serializer_class = SSHKeySerializer

    def get_queryset(self):
        return selectors.ssh_keys_for_user(self.request.user)

    @extend_schema(
        request=SSHKeyCreateSerializer,
        responses={
            201: SSHKeySerializer,
            **error_responses(
                400, *AUTHENTICATED, e400="Not an OpenSSH public key we accept (ed25519, ecdsa, rsa >= 2048 bits)."
            ),
        },
    )
    def post(self, request):
        serializer = SSHKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            key = services.ssh_key_add(request.user, **serializer.validated_data)
        except InvalidSSHKey as exc:
            raise ValidationError({"public_key": [str(exc)]}) from exc
        return Response(SSHKeySerializer(key).data, status=status.HTTP_201_CREATED)


class SSHKeyDetailView(generics.GenericAPIView):
    serializer_class = SSHKeySerializer

    @extend_schema(responses={204: None, **error_responses(404, *AUTHENTICATED)})
    def delete(self, request, pk):
        if not services.ssh_key_delete(request.user, pk):
            raise NotFound("No such SSH key.")
        return Response(status=status.HTTP_204_NO_CONTENT)
