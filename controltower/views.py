"""The web shell: the home page and the health check."""
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from inventory.models import SKU, InventoryEvent, Position, RejectedEvent

from .counts import capped_count
from .scoping import ESTATE_ROLES, restrict, role_of, visible_locations

# The home page lists this many locations; the count above the table says how many there are.
HOME_LOCATION_LIMIT = 50


def _home_counts(user):
    """Live counts for the home page, each narrowed to the user's scope."""
    since = timezone.now() - timedelta(hours=24)
    counts = {
        "locations": visible_locations(user).count(),
        "skus": SKU.objects.filter(active=True).count(),
        "events_24h": capped_count(restrict(InventoryEvent.objects.filter(received_at__gte=since), user)),
        "negative_available": capped_count(restrict(Position.objects.filter(available__lt=0), user)),
    }
    # A rejected event may name no known location, so it cannot be scoped:
    # only people who see the whole estate get this count.
    if role_of(user) in ESTATE_ROLES:
        counts["rejections_pending"] = RejectedEvent.objects.filter(replayed_at__isnull=True).count()
    return counts


@login_required
def home(request):
    counts = _home_counts(request.user)
    locations = visible_locations(request.user).select_related("region")[:HOME_LOCATION_LIMIT]
    return render(request, "home.html", {"counts": counts, "locations": locations})


@never_cache
def healthz(request):
    """Liveness for the Procfile, compose and CI: is the database answering?"""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "error"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})
