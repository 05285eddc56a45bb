"""The kernel's own view: the health check (the screens are in controltower.web)."""
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from .throttles import cache_failures


@never_cache
def healthz(request):
    """Liveness for a load balancer and CI: is the database answering?

    The cache (Redis: API throttle counts) is reported but does not fail the
    check: the tower answers without it, throttling open, and
    `throttle_failed_open` counts the requests this process let through so."""
    try:
        cache.get("healthz")
        cache_state = "ok"
    except Exception:  # noqa: BLE001 - any cache failure is "error", never a 500
        cache_state = "error"
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "error", "cache": cache_state,
                             "throttle_failed_open": cache_failures()}, status=503)
    return JsonResponse({"status": "ok", "database": "ok", "cache": cache_state,
                         "throttle_failed_open": cache_failures()})
