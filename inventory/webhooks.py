"""Sources that post webhooks: their shared secrets and the signatures of
their deliveries (Shopify's: a base64 HMAC-SHA256 of the raw body).

The secret is stored sealed (controltower.sealing), never as it is: the
tower needs it back to compute each delivery's HMAC, so a hash would not do.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets

from controltower.sealing import Unopenable, seal, unseal

from .models import SourceSystem

log = logging.getLogger("inventory.webhooks")

MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
# A generated secret: 32 random bytes, as 43 URL-safe characters.
GENERATED_BYTES = 32


class WebhookSecretError(ValueError):
    """The secret given cannot be a webhook secret."""


def set_webhook_secret(source: SourceSystem, secret: str | None = None) -> str:
    """Set `source`'s webhook secret to `secret`, or to a new random one when
    None; "" removes it (the source's webhooks are then refused). Returns the
    secret (to be shown once: only its sealed form is stored)."""
    if secret is None:
        secret = secrets.token_urlsafe(GENERATED_BYTES)
    elif secret:
        if not (MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH) or not secret.isascii() \
                or not secret.isprintable() or secret != secret.strip():
            raise WebhookSecretError(
                f"--webhook-secret: {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} printable ASCII characters, "
                "without spaces at either end (Shopify shows its signing secret as 64 hex digits)."
            )
    source.webhook_secret = seal(secret) if secret else ""
    source.save(update_fields=["webhook_secret"])
    return secret


def webhook_secret(source: SourceSystem) -> str | None:
    """`source`'s webhook secret; None when it has none, or when it was sealed
    under a SECRET_KEY no longer configured (logged: set it again)."""
    if not source.webhook_secret:
        return None
    try:
        return unseal(source.webhook_secret)
    except Unopenable:
        log.error("The webhook secret of source %s was sealed under another SECRET_KEY: set it again "
                  "(manage.py add_source %s --kind %s --webhook-secret SECRET).", source.code, source.code,
                  source.kind)
        return None


def signature(secret: str, body: bytes) -> str:
    """The signature Shopify sends with `body`: base64 of its HMAC-SHA256 under `secret`."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def signature_matches(secret: str | None, body: bytes, sent: str | None) -> bool:
    """Does `sent` (the header's value) sign `body` with `secret`? Compared in
    constant time; no secret or no signature never matches, after the same
    work (a caller cannot tell by the time taken which it was)."""
    expected = hmac.new((secret or "").encode(), body, hashlib.sha256).digest()
    try:
        given = base64.b64decode((sent or "").strip(), validate=True)
    except (binascii.Error, ValueError):
        given = b""
    return hmac.compare_digest(expected, given) and bool(secret) and bool(sent)
