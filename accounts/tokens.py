"""API tokens: issued, listed, revoked. The key is returned once, by `token_issue`,
and exists nowhere afterwards (the database keeps a digest and a prefix)."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .emails import account_mail_queue
from .models import ApiToken

PREFIX_LENGTH = 8


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def token_issue(user, *, name: str = "", now=None) -> tuple[ApiToken, str]:
    """A new token for `user`, valid API_TOKEN_DAYS; returns (token, key). Earlier tokens
    stay valid until they expire or are revoked. The owner is emailed about it."""
    now = now or timezone.now()
    key = secrets.token_hex(20)
    token = ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[:PREFIX_LENGTH],
        digest=token_digest(key),
        created_at=now,
        expires_at=now + timedelta(days=settings.API_TOKEN_DAYS),
    )
    account_mail_queue("api-token-created", user, cause=token.pk, token=token)
    return token, key


def tokens_for_user(user):
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def token_revoke(user, token_id) -> bool:
    """Delete one of `user`'s tokens; requests with it are 401 from now on. Another
    user's token id revokes nothing (False), as does an unknown one."""
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)
