"""The screens that compose several apps: the home page and My stores."""
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from controltower.counts import capped_count
from controltower.models import Role
from controltower.permissions import may_see_rejections
from controltower.scoping import role_of, visible_locations
from exceptions.services import location_case_figures
from inventory.models import SKU, InventoryEvent, Position, RejectedEvent
from inventory.positions import negative_position_counts

# Roles whose main screen is another app's: home (where signing in lands) sends them there.
LANDING = {
    Role.PMO: "rollout",
    Role.EXECUTIVE: "hypercare",
    Role.INTEGRATION_ADMIN: "integration-health",
    Role.PLANNER: "variances",
    Role.FINANCE: "variances",
}

# The home page lists this many locations; the count above the table says how many there are.
HOME_LOCATION_LIMIT = 50


def _home_counts(user):
    """Live counts for the home page, each narrowed to the user's scope."""
    since = timezone.now() - timedelta(hours=24)
    counts = {
        "locations": visible_locations(user).count(),
        "skus": SKU.objects.filter(active=True).count(),
        "events_24h": capped_count(InventoryEvent.objects.filter(received_at__gte=since).restrict(user)),
        "negative_available": capped_count(Position.objects.filter(available__lt=0).restrict(user)),
    }
    # A rejected event may name no known location, so it cannot be scoped.
    if may_see_rejections(user):
        counts["rejections_pending"] = RejectedEvent.objects.filter(replayed_at__isnull=True).restrict(user).count()
    return counts


@login_required
def home(request):
    landing = LANDING.get(role_of(request.user))
    if landing is not None:
        try:
            return redirect(reverse(landing))
        except NoReverseMatch:  # a url conf without that screen (as the navigation shows no dead link)
            pass
    counts = _home_counts(request.user)
    locations = visible_locations(request.user).select_related("region")[:HOME_LOCATION_LIMIT]
    return render(request, "web/home.html", {"counts": counts, "locations": locations})

STORE_PAGE_SIZE = 50
NEGATIVE_POSITIONS_SHOWN = 100


@login_required
@require_GET
def stores(request):
    """The user's locations with their open cases, and the positions with negative available stock."""
    page = Paginator(visible_locations(request.user).select_related("region"), STORE_PAGE_SIZE).get_page(
        request.GET.get("page"))
    on_page = [location.pk for location in page]
    cases = location_case_figures(on_page)
    negatives = negative_position_counts(on_page)
    rows = [{"location": location, "cases": cases.get(location.pk, {}), "negative": negatives.get(location.pk, 0)}
            for location in page]
    negative_positions = Position.objects.filter(available__lt=0).restrict(request.user).select_related(
        "location", "sku").order_by("available", "location__code", "sku__code")
    return render(request, "web/stores.html", {
        "page": page,
        "rows": rows,
        "negative_positions": negative_positions[:NEGATIVE_POSITIONS_SHOWN],
        "negative_total": capped_count(negative_positions),
        "shown": NEGATIVE_POSITIONS_SHOWN,
    })
