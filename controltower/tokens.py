"""Token authentication against hashed ApiToken rows, and their rotation.

A person's token authenticates as that person. A source system's token
authenticates as an unprivileged `SourceClient`; `request.auth` is the token,
so views know which source is posting.

A token is rotated without downtime: its successor is issued at once and the
old one keeps working for a grace period (TOKEN_ROTATION_GRACE_HOURS), so
the source can switch over, then stops; a revoked token stops at once. Both
are in the audit trail (controltower.audit tracks ApiToken).
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import authentication, exceptions

from auditlog.context import auditlog_value

from .models import ApiToken, hash_token


class SourceClient:
    """The request.user of a source system: authenticated, sees no people's data."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_staff = False
    is_superuser = False

    def __init__(self, source):
        self.source = source
        self.pk = None
        self.username = f"source:{source.code}"

    def __str__(self):
        return self.username


def _act_for_audit(user):
    """The person the audit trail (controltower.audit) names for this request: auditlog's
    middleware ran before the API view authenticated the token, and saw nobody."""
    context = auditlog_value.get(None)
    if context is not None:
        context["actor"] = user


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'.")
        raw = header[1].decode(errors="replace")
        now = timezone.now()
        token = (
            ApiToken.objects.select_related("user", "source", "user__profile")
            .filter(key_hash=hash_token(raw), revoked=False)
            .first()
        )
        if token is None or not token.usable(now):
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        if token.source_id:
            if not token.source.active:
                raise exceptions.AuthenticationFailed("Source system is inactive.")
            return SourceClient(token.source), token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        _act_for_audit(token.user)
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword


def rotate(token, *, grace_hours=None, now=None):
    """Issue `token`'s successor for the same owner; the old token stops after the grace
    period (an earlier expiry stands). Returns (the new token, its raw key, shown once)."""
    now = now or timezone.now()
    grace = timedelta(hours=settings.TOKEN_ROTATION_GRACE_HOURS if grace_hours is None else grace_hours)
    if not token.usable(now):
        raise ValueError(f"Token {token.prefix}… is already revoked or expired: issue a new one instead.")
    with transaction.atomic():
        new, raw = ApiToken.issue(user=token.user, source=token.source)
        token.expires_at = min(now + grace, token.expires_at) if token.expires_at else now + grace
        token.save(update_fields=["expires_at"])
    return new, raw


def revoke(token):
    """Stop `token` now."""
    if not token.revoked:
        token.revoked = True
        token.save(update_fields=["revoked"])
