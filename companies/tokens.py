"""API tokens: `Authorization: Bearer <key>` (or `Token <key>`). Keys are stored only as hashes.

A token expires `TOKEN_DEFAULT_LIFETIME_DAYS` after its creation unless its owner asked for another
lifetime (at most `TOKEN_MAX_LIFETIME_DAYS`) or, explicitly, for none.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.utils import timezone
from rest_framework import authentication, exceptions

from companies.models import ApiToken

KEY_PREFIX = "sbp_"
TOKEN_DEFAULT_LIFETIME_DAYS = 90
TOKEN_MAX_LIFETIME_DAYS = 365


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *, user, name: str = "", expires_in_days: int | None = TOKEN_DEFAULT_LIFETIME_DAYS
) -> tuple[ApiToken, str]:
    """A new token and its key (shown once). `expires_in_days=None` makes a token that never expires."""
    if expires_in_days is not None and not 1 <= expires_in_days <= TOKEN_MAX_LIFETIME_DAYS:
        raise ValueError(f"a token lives 1 to {TOKEN_MAX_LIFETIME_DAYS} days, not {expires_in_days}")
    now = timezone.now()
    expires_at = None if expires_in_days is None else now + datetime.timedelta(days=expires_in_days)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=key[:12], key_hash=_hash(key), created_at=now, expires_at=expires_at
    )
    return token, key


def api_token_revoke(*, user, token_id: int) -> bool:
    deleted, _ = ApiToken.objects.filter(user=user, pk=token_id).delete()
    return bool(deleted)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    keywords = ("Bearer", "Token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0] not in self.keywords:
            return None
        if len(header) != 2 or not header[1].startswith(KEY_PREFIX):
            raise exceptions.AuthenticationFailed("Invalid token header.", code="invalid_token")
        token = ApiToken.objects.select_related("user").filter(key_hash=_hash(header[1])).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.", code="invalid_token")
        if token.expires_at is not None and token.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"This token expired at {token.expires_at.isoformat()}; create a new one.", code="token_expired"
            )
        if token.last_used_at is None or (timezone.now() - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        request.api_token = token
        return token.user, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
