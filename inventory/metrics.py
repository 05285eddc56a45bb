"""The inventory metrics of the registry (controltower.metrics): item master
quality, the feeds' acceptance and latency, inventory record accuracy.
Registered from InventoryConfig.ready(), where their definitions are.

Every function takes a Scope and a Window and returns a Reading. A window
is half-open, since <= time < until, as the API's since/until filters are:
what happened exactly at `until` belongs to the next window, so daily
windows (the KPI rollups) add up without counting anything twice. An empty
scope (no locations, no sources) measures nothing: no data.
"""
from __future__ import annotations

from decimal import Decimal

from django.db.models import Exists, OuterRef, Q

from controltower.db import nearest_rank
from controltower.metrics import Reading, records_url, share

from .counts import Accuracy, accuracy
from .models import (
    CONTROL_TOWER_SOURCE,
    SKU,
    BarcodeClash,
    InventoryEvent,
    Location,
    RejectedEvent,
    SourceSystem,
    UnitConversion,
)


def codes(model, ids):
    """The codes of `ids` (a Scope's locations or sources) for a records URL; None for no restriction."""
    return None if ids is None else set(model.objects.filter(pk__in=ids).values_list("code", flat=True))


def received_in(queryset, window):
    """The rows of `queryset` received in the window."""
    if window.since is not None:
        queryset = queryset.filter(received_at__gte=window.since)
    return queryset.filter(received_at__lt=window.until)


def of_sources(queryset, scope, field="source"):
    """The rows whose `field` (a source; "" for the sources themselves) is
    one of the scope's; every source but the tower's own (not a feed) when
    the scope names none."""
    prefix = f"{field}__" if field else ""
    if scope.sources is None:
        return queryset.exclude(**{f"{prefix}code": CONTROL_TOWER_SOURCE})
    return queryset.filter(**{f"{prefix}pk__in": scope.sources})


def empty(scope, *parts):
    """The scope names no location or no source among `parts`: nothing to measure."""
    return any(getattr(scope, part) is not None and not getattr(scope, part) for part in parts)


# --------------------------------------------------------------------------
# Item master (estate-wide: SKUs are not per location, and the item master
# keeps no history, so these read it as it stands and ignore the scope's
# locations and the window).
# --------------------------------------------------------------------------

def item_master_problem():
    """What makes an active SKU incomplete: no unit cost above zero, no
    category or base unit, or a unit conversion the item master import would
    refuse (a factor below 1, or the base unit holding other than 1 of
    itself; only the admin can store those)."""
    bad_conversion = UnitConversion.objects.filter(sku=OuterRef("pk")).filter(
        Q(factor__lt=1) | (Q(unit=OuterRef("base_unit")) & ~Q(factor=1))
    )
    return Q(unit_cost__lte=0) | Q(category="") | Q(base_unit="") | Q(Exists(bad_conversion))


def item_master_completeness(scope, window):
    active = SKU.objects.filter(active=True)
    total = active.count()
    complete = active.exclude(item_master_problem()).count()
    return Reading(
        value=share(complete, total), sample=total, records_url=records_url("/api/v1/skus", active="true"),
        detail={"complete": complete, "incomplete": total - complete},
    )


def duplicate_barcodes(scope, window):
    """Barcodes an item master import tried to give to a second SKU in the
    window (kept as BarcodeClash when the row was refused). The tower itself
    never holds a barcode on two SKUs (the import refuses it and the
    database forbids it), so what it can measure is how often the source's
    item master still carries one. No data when there is no item master."""
    if not SKU.objects.exists():
        return Reading(value=None, sample=0)
    clashes = BarcodeClash.objects.filter(refused_at__lt=window.until)
    if window.since is not None:
        clashes = clashes.filter(refused_at__gte=window.since)
    barcodes = clashes.values("barcode").distinct().count()
    return Reading(
        value=Decimal(barcodes), sample=clashes.count(),
        records_url=records_url(
            "/admin/inventory/barcodeclash/", refused_at__gte=window.since, refused_at__lt=window.until,
        ),
    )


# --------------------------------------------------------------------------
# The feeds (Scope.sources)
# --------------------------------------------------------------------------

def event_acceptance_rate(scope, window):
    """Events taken into the ledger over events received (taken, rejected or
    refused as a conflict), by time received. Resent duplicates are left out
    (the first copy was counted). A rejection replayed into the ledger after
    a master-data fix counts once, as the rejection it was when received;
    its ledger line is the tower's replay, not a receipt. Rejections name no
    trusted location, so the scope's locations are not used."""
    if empty(scope, "sources"):
        return Reading(value=None, sample=0)
    replayed = RejectedEvent.objects.filter(
        source_id=OuterRef("source_id"), transaction_id=OuterRef("transaction_id"), replay_status="accepted",
        feed=RejectedEvent.Feed.INVENTORY,
    )
    accepted = received_in(of_sources(InventoryEvent.objects.all(), scope), window).exclude(Exists(replayed))
    accepted = accepted.count()
    refused = RejectedEvent.objects.filter(feed=RejectedEvent.Feed.INVENTORY)
    refused = received_in(of_sources(refused, scope), window).count()
    return Reading(
        value=share(accepted, accepted + refused), sample=accepted + refused,
        records_url=records_url(
            "/api/v1/rejections", sources=codes(SourceSystem, scope.sources),
            received_since=window.since, received_until=window.until,
        ),
        detail={"accepted": accepted, "refused": refused},
    )


def sync_latency_p95(scope, window):
    """The 95th percentile (nearest rank) of received_at - occurred_at, in
    seconds, of the ledger lines received in the window from the scope's
    sources (and at its locations when it names any)."""
    if empty(scope, "sources", "locations"):
        return Reading(value=None, sample=0)
    events = received_in(of_sources(InventoryEvent.objects.all(), scope), window)
    if scope.locations is not None:
        events = events.filter(location_id__in=scope.locations)
    latency_ms, count = nearest_rank(events, "latency_ms", Decimal("0.95"))
    return Reading(
        value=None if latency_ms is None else Decimal(latency_ms) / 1000, sample=count,
        records_url=records_url(
            "/api/v1/events", sources=codes(SourceSystem, scope.sources),
            locations=codes(Location, scope.locations),
            received_since=window.since, received_until=window.until,
        ),
    )


# --------------------------------------------------------------------------
# Inventory record accuracy (Scope.locations): inventory.counts owns the rule.
# --------------------------------------------------------------------------

def _accuracy(scope, window):
    location_ids = scope.locations
    if location_ids is None:
        location_ids = Location.objects.values_list("pk", flat=True)
    total = Accuracy()
    for found in accuracy(location_ids, window.since, window.until).values():
        total.counted += found.counted
        total.exact += found.exact
        total.within_tolerance += found.within_tolerance
    url = records_url(
        "/api/v1/accuracy", locations=codes(Location, scope.locations), since=window.since, until=window.until,
    )
    return total, url


def inventory_accuracy_exact(scope, window):
    total, url = _accuracy(scope, window)
    return Reading(value=total.share_exact, sample=total.counted, records_url=url,
                   detail={"exact": total.exact, "counted_pairs": total.counted})


def inventory_accuracy_tolerance(scope, window):
    total, url = _accuracy(scope, window)
    return Reading(value=total.share_within_tolerance, sample=total.counted, records_url=url,
                   detail={"within_tolerance": total.within_tolerance, "counted_pairs": total.counted})
