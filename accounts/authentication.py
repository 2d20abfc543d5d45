"""API token authentication: DRF's TokenAuthentication against our hashed, expiring
tokens (accounts.ApiToken), and the same token accepted by the few plain views whose
URLs the API hands out.

Behaviour is DRF's: the same header, the same errors, `request.auth` is the token.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken
from .tokens import token_digest


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.is_expired():
            raise exceptions.AuthenticationFailed(_("Token has expired."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token


def login_or_token_required(view):
    """For plain Django views that API clients fetch too (attachment downloads, whose
    URLs the API hands out): a signed-in session, or DRF's `Authorization: Token <key>`.
    A bad token is 401 as in the API; no credentials at all go to the sign-in page."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.auth = None  # as in DRF: the ApiToken when the request came with one
        if request.META.get("HTTP_AUTHORIZATION"):
            try:
                found = TokenAuthentication().authenticate(request)
            except exceptions.AuthenticationFailed as exc:
                return JsonResponse({"detail": str(exc.detail)}, status=401)
            if found is not None:
                request.user, request.auth = found
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper
