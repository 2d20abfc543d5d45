"""API token authentication: DRF's TokenAuthentication against our hashed, expiring
tokens (accounts.ApiToken), and the same token accepted by the few plain views whose
URLs the API hands out.

It runs on every API request, and for the ORM's query (token joined to its user)
Django spends more time building the SQL than PostgreSQL spends running it. Here
the join is one fixed SQL statement. It names every column it reads, never `u.*`:
with prepared statements on, a cached plan whose result columns change (a migration
adding a user column while this process runs) fails on every later execution.
Behaviour is DRF's: the same header, the same errors, `request.auth` is the token.
"""

from functools import cache, wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken
from .tokens import token_digest


@cache
def token_user_sql():
    users, tokens = get_user_model()._meta, ApiToken._meta
    quote = connection.ops.quote_name
    user_columns = ", ".join(f"u.{quote(field.column)}" for field in users.concrete_fields)
    return (
        f"SELECT {user_columns}, t.{quote(tokens.pk.column)} AS token_id, "
        f"t.{quote(tokens.get_field('expires_at').column)} > %s AS token_live "
        f"FROM {quote(users.db_table)} u JOIN {quote(tokens.db_table)} t "
        f"ON t.{quote(tokens.get_field('user').column)} = u.{quote(users.pk.column)} "
        f"WHERE t.{quote(tokens.get_field('digest').column)} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key):
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        found = list(get_user_model().objects.raw(token_user_sql(), [now, token_digest(key)]))
        if not found:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        user = found[0]
        if not user.token_live:
            raise exceptions.AuthenticationFailed(_("Token has expired."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # A saved ApiToken as Django would load it (DELETE /api/v1/auth/token/ deletes
        # it); the other fields, which nothing on this path reads, stay deferred.
        token = ApiToken.from_db(user._state.db, ["id", "user_id"], [user.token_id, user.pk])
        token.user = user
        return user, token


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
