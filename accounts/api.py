from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_errors import error_responses
from core.throttles import TokenIssueThrottle
from security.lockout import lockout_response, lockout_sign_in_succeeded

from .authentication import TokenAuthentication
from .tokens import token_issue


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, style={"input_type": "password"})


class TokenView(APIView):
    """POST: exchange email and password for a new API token (`Authorization: Token <key>`),
    shown this once. DELETE: revoke the token the request is made with."""

    def revoking(self):
        return getattr(self.request, "method", None) == "DELETE"

    def get_authenticators(self):
        # Issuing takes a password, never another credential; revoking takes the token itself.
        return [TokenAuthentication()] if self.revoking() else []

    def get_permissions(self):
        return [IsAuthenticated()] if self.revoking() else [AllowAny()]

    def get_throttles(self):
        return super().get_throttles() if self.revoking() else [TokenIssueThrottle()]

    @extend_schema(
        auth=[],
        description="Exchange email and password for a new API token, valid `API_TOKEN_DAYS`; it is shown only in this answer.",
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            **error_responses(
                400,
                429,
                e400="Missing fields, or no active account with that email and password.",
                e429="Too many requests from this address, or 5 failed sign-ins for this email from it "
                "within 15 minutes (locked for 15 minutes): retry after `Retry-After` seconds.",
            ),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(
            request,
            email=serializer.validated_data["email"].lower(),
            password=serializer.validated_data["password"],
        )
        if getattr(request, "axes_locked_out", False):  # set by django-axes during authenticate()
            return lockout_response(request)
        if user is None or not user.is_active:
            return Response(
                {"detail": "Unable to sign in with that email and password."}, status=status.HTTP_400_BAD_REQUEST
            )
        lockout_sign_in_succeeded(request, user)
        _, key = token_issue(user, name="POST /api/v1/auth/token/")
        return Response({"token": key})

    @extend_schema(
        request=None,
        description="Revoke the token this request is sent with: it answers 401 from now on.",
        responses={204: None, **error_responses(401, 429)},
    )
    def delete(self, request):
        request.auth.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
