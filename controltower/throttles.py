"""API rate limits per caller (REST_FRAMEWORK's DEFAULT_THROTTLE_CLASSES).

- A source system's token: settings.API_THROTTLE_RATES["source"] (600/min
  by default: 10 requests/s, five times what ingest at 10,000 events/s in
  5,000-event batches needs).
- A person: ["person"] (300/min), one bucket per token, and one per user
  for the session (the browsable API, the web screens' API calls).
- A webhook (no token: Shopify signs its deliveries): ["webhook"] (600/min),
  one bucket per client address (controltower.addresses), signed or not,
  so nobody can flood the signature check.
- Other anonymous requests are refused by authentication before they count.

Beyond the rate the answer is 429 with Retry-After (seconds). A rate of
None turns a scope off.

The count is a fixed window: one counter per bucket and window (a minute
for N/min), created with `cache.add` and raised with `cache.incr`, both
atomic in Redis (INCR) and in local memory, so parallel requests cannot
slip past the limit the way a read-then-write history can. The counters
live in Django's default cache (settings.CACHES): Redis in production, so
every web process shares them.

The throttle fails open: when the cache does not answer (Redis down), the
request is let through, logged, and counted in `cache_failures()` (shown by
/healthz), so the ledger keeps taking events while Redis is away.

Rates are read from settings.API_THROTTLE_RATES on every request (not once
at import as DRF's SimpleRateThrottle does), so an environment variable or a
test's settings override takes effect.
"""
import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from .addresses import client_address
from .models import ApiToken

log = logging.getLogger("controltower.throttles")

_failures = {"count": 0, "last_logged": 0.0}
_failures_lock = threading.Lock()


def cache_failures():
    """How many throttle checks this process let through because the cache did not answer."""
    return _failures["count"]


def _failed_open(scope, error):
    with _failures_lock:
        _failures["count"] += 1
        now = time.monotonic()
        # One warning a minute per process, not one per request.
        loud = now - _failures["last_logged"] >= 60
        if loud:
            _failures["last_logged"] = now
    if loud:
        log.warning("API throttle '%s' let a request through: the cache did not answer (%s: %s); "
                    "%d such requests in this process so far", scope, type(error).__name__, error,
                    _failures["count"])


class _ScopedThrottle(BaseThrottle):
    scope = None
    cache_format = "throttle:%(scope)s:%(ident)s"

    def get_rate(self):
        try:
            return settings.API_THROTTLE_RATES[self.scope]
        except KeyError:
            raise ImproperlyConfigured(f"settings.API_THROTTLE_RATES has no rate for '{self.scope}'.")

    def bucket(self, ident):
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def get_cache_key(self, request, view):
        raise NotImplementedError

    def allow_request(self, request, view):
        rate = self.get_rate()
        if rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        number, period = rate.split("/")
        limit, seconds = int(number), {"s": 1, "m": 60, "h": 3600, "d": 86400}[period[0]]
        now = time.time()
        window = int(now // seconds)
        self.window_ends = (window + 1) * seconds - now
        counter = f"{key}:{window}"
        try:
            # The counter outlives its window by a little, never by a whole window.
            cache.add(counter, 0, timeout=seconds + 5)
            count = cache.incr(counter)
        except ValueError:
            # The counter expired between add and incr: this request opens the next one.
            return True
        except Exception as error:  # noqa: BLE001 - any cache failure (Redis down) fails open
            _failed_open(self.scope, error)
            return True
        return count <= limit

    def wait(self):
        return max(1, math.ceil(self.window_ends))


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


class WebhookThrottle(_ScopedThrottle):
    """One bucket per client address, for the webhooks."""

    scope = "webhook"

    def get_cache_key(self, request, view):
        address = client_address(request)
        return self.bucket(address) if address else None
