"""The cutover-readiness metrics of the registry (controltower.metrics):
what must be settled at a wave's stores before their systems change over,
and whether the new systems feed them at all. Registered by
`register_metrics()` below (called from InventoryConfig.ready()).

- Stores without a target feed: the integration design must give every
  store of a wave a feed from a target (new) system.
- Open transfers, orders in flight and unposted returns at the stores: the
  work in progress a cutover would strand between the old and the new
  systems.

Each is a count at the scope's locations as of the window's end (`until`);
a scope naming no location is no data.
"""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.urls import reverse

from controltower import records
from controltower.metrics import LOWER, Reading, Unit, records_url, register

from .journeys import ORDER, RETURN
from .metrics import codes_of, each_location_scope, in_window, union_of
from .models import InventoryEvent, Journey, Location, SourceSystem, Transfer

# An order is in flight until it is collected, shipped, cancelled or fallen
# out; a return is unposted from its receipt at the store until its refund.
ORDER_DONE_STATES = ("collected", "shipped", "cancelled", "fallout")


def order_in_flight():
    return Q(kind=ORDER) & ~Q(state__in=ORDER_DONE_STATES) & ~Q(state="")


def return_unposted():
    return Q(kind=RETURN, goods_received_at__isnull=False, refunded_at__isnull=True)


def _at_locations(queryset, scopes, field="location_id"):
    location_ids = union_of(scopes, "locations")
    return queryset if location_ids is None else queryset.filter(**{f"{field}__in": location_ids})


def stores_without_target_feed_many(scopes, window):
    """Locations in scope that no active target source feeds: none names
    the location in its lanes, and none sent an event for it in the window
    (a source with no lanes feeds wherever it sends)."""
    locations = _at_locations(Location.objects.filter(active=True), scopes, "pk")
    targets = SourceSystem.objects.filter(active=True, generation=SourceSystem.Generation.TARGET)
    fed = set(targets.values_list("lane_locations", flat=True))
    sent = in_window(InventoryEvent.objects.filter(source__in=targets), "received_at", window)
    fed |= set(_at_locations(sent, scopes).values_list("location_id", flat=True).distinct())
    location_codes = codes_of(Location, scopes, "locations")
    unfed = {}
    for pk, code in locations.values_list("pk", "code"):
        unfed.setdefault(pk, []).append((code, pk not in fed))

    def read(scope, rows):
        missing = sorted(code for code, without in rows if without)
        return Reading(value=Decimal(len(missing)) if rows else None, sample=len(rows),
                       records_url=records.url("store-feeds", locations=location_codes(scope)),
                       detail={"stores": len(rows), "without_target_feed": missing})
    return each_location_scope(scopes, unfed, read)


def open_transfers_many(scopes, window):
    """Transfers shipped to or from the scope's locations before the end of
    the window and not received by then."""
    transfers = Transfer.objects.filter(shipped_at__lt=window.until).filter(
        Q(received_at__isnull=True) | Q(received_at__gte=window.until))
    location_ids = union_of(scopes, "locations")
    if location_ids is not None:
        transfers = transfers.filter(Q(to_location_id__in=location_ids) | Q(from_location_id__in=location_ids))
    at_location = {}
    for pk, to_id, from_id in transfers.values_list("pk", "to_location_id", "from_location_id"):
        for location_id in {to_id, from_id} - {None}:
            at_location.setdefault(location_id, []).append(pk)
    location_codes = codes_of(Location, scopes, "locations")

    def read(scope, rows):
        return Reading(value=Decimal(len(set(rows))), sample=len(set(rows)),
                       records_url=records.url("transfers", open_at=window.until, locations=location_codes(scope)))
    return each_location_scope(scopes, at_location, read)


def _journeys_many(condition, kind):
    """The count of journeys matching `condition` now, at each scope's locations."""
    def count(scopes, window):
        found = {}
        for pk, location_id in _at_locations(Journey.objects.filter(condition), scopes).values_list(
                "pk", "location_id"):
            found.setdefault(location_id, []).append(pk)
        location_codes = codes_of(Location, scopes, "locations")

        def read(scope, rows):
            return Reading(value=Decimal(len(rows)), sample=len(rows), records_url=records_url(
                reverse("journeys"), kind=kind, open="true", locations=location_codes(scope)))
        return each_location_scope(scopes, found, read)
    return count


orders_in_flight_many = _journeys_many(order_in_flight(), ORDER)
unposted_returns_many = _journeys_many(return_unposted(), RETURN)


def register_metrics():
    """The cutover-readiness metrics: each defined once, in the words every screen shows."""
    register(
        "stores_without_target_feed", "Stores without a target feed", unit=Unit.COUNT, better=LOWER,
        compute_many=stores_without_target_feed_many, target="0", amber="1", scopes=("locations",), gate_only=True,
        definition="Active locations that no active target (new) system feeds: none names them in its lanes, "
                   "and none sent an event for them in the window. The integration design is complete when "
                   "every store of a wave has one.",
    )
    register(
        "open_transfers", "Open transfers", unit=Unit.COUNT, better=LOWER,
        compute_many=open_transfers_many, target="0", amber="10", scopes=("locations",), gate_only=True,
        definition="Transfers shipped to or from the locations and not received, as of the end of the window: "
                   "stock in transit a cutover would strand between the old and the new systems.",
    )
    register(
        "orders_in_flight", "Orders in flight", unit=Unit.COUNT, better=LOWER, live=True,
        compute_many=orders_in_flight_many, target="0", amber="20", scopes=("locations",), gate_only=True,
        definition="Customer orders at the locations not yet collected, shipped, cancelled or fallen out, "
                   "now: each must be finished or carried over before the cutover.",
    )
    register(
        "unposted_returns", "Unposted returns", unit=Unit.COUNT, better=LOWER, live=True,
        compute_many=unposted_returns_many, target="0", amber="10", scopes=("locations",), gate_only=True,
        definition="Customer returns received at the locations and not yet refunded, now: each must be "
                   "posted before the cutover, or the new system never refunds it.",
    )
