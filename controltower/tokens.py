"""Token authentication against hashed ApiToken rows.

A person's token authenticates as that person. A source system's token
authenticates as an unprivileged `SourceClient`; `request.auth` is the token,
so views know which source is posting.
"""
from django.utils import timezone
from rest_framework import authentication, exceptions

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


class TokenAuthentication(authentication.BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must be 'Token <key>'.")
        raw = header[1].decode(errors="replace")
        token = (
            ApiToken.objects.select_related("user", "source", "user__profile")
            .filter(key_hash=hash_token(raw), revoked=False)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        if token.source_id:
            if not token.source.active:
                raise exceptions.AuthenticationFailed("Source system is inactive.")
            return SourceClient(token.source), token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive.")
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
