"""Secrets the tower must read back (not only check), sealed at rest.

A source's webhook secret is one: Shopify signs each delivery with it, so
the tower needs the secret itself to compute the same HMAC and cannot keep
only a hash of it, as it does for API tokens. It is stored sealed with
Fernet (AES-128-CBC with an HMAC-SHA256, from `cryptography`) under a key
derived from SECRET_KEY by HKDF: a copy of the database alone does not give
the secrets away.

Opening tries SECRET_KEY, then each of Django's SECRET_KEY_FALLBACKS, so a
rotated key still opens what the old one sealed. A secret sealed under a
key that is no longer configured cannot be opened (`Unopenable`): set it
again (docs/operations.md).
"""
import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

# Binds the derived key to this use: the same SECRET_KEY signs sessions too.
PURPOSE = b"controltower sealed secrets v1"


class Unopenable(ValueError):
    """The sealed text was not sealed under SECRET_KEY or any of its fallbacks."""


def _fernet(secret_key):
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _keys():
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def seal(secret: str) -> str:
    """`secret` sealed under SECRET_KEY, as text to store."""
    return _fernet(settings.SECRET_KEY).encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    """The secret `seal` sealed; Unopenable when no configured key opens it."""
    try:
        return MultiFernet([_fernet(key) for key in _keys()]).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise Unopenable("Sealed under a SECRET_KEY that is no longer configured.") from exc
