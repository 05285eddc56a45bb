"""API rate limits per caller (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES).

- A source system's token: settings.API_THROTTLE_RATES["source"] (600/min
  by default: 10 requests/s, five times what ingest at 10,000 events/s in
  5,000-event batches needs).
- A person: ["person"] (300/min), one bucket per token, and one per user
  for the session (the browsable API, the web screens' API calls).
- Anonymous requests are refused by authentication before they count.

Beyond the rate the answer is 429 with Retry-After (seconds). The counts
are kept in Django's default cache (settings.CACHES): Redis in production,
so every web process shares them. A rate of None turns a scope off.

DRF's SimpleRateThrottle reads DEFAULT_THROTTLE_RATES into a class
attribute once, at import; these classes read settings.API_THROTTLE_RATES on
every request instead, so an environment variable or a test's settings
override takes effect.
"""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class _ScopedThrottle(SimpleRateThrottle):
    cache_format = "throttle:%(scope)s:%(ident)s"

    def get_rate(self):
        try:
            return settings.API_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"settings.API_THROTTLE_RATES has no rate for '{self.scope}'.")

    def bucket(self, ident):
        return self.cache_format % {"scope": self.scope, "ident": ident}


def _token(request):
    return request.auth if isinstance(request.auth, ApiToken) else None


class SourceTokenThrottle(_ScopedThrottle):
    """One bucket per source system token."""

    scope = "source"

    def get_cache_key(self, request, view):
        token = _token(request)
        if token is None or not token.source_id:
            return None
        # The token's hash, not its id: ids repeat across test databases
        # that share one Redis, hashes do not.
        return self.bucket(token.key_hash)


class PersonThrottle(_ScopedThrottle):
    """One bucket per person's token; per user for a session."""

    scope = "person"

    def get_cache_key(self, request, view):
        token = _token(request)
        if token is not None:
            return None if token.source_id else self.bucket(token.key_hash)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or getattr(user, "pk", None) is None:
            return None
        return self.bucket(f"user{user.pk}")
