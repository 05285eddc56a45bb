"""The inventory metrics of the registry (controltower.metrics): item master
quality, the feeds' acceptance and latency, inventory record accuracy,
manual adjustments and transfer lead time.
Each is registered with its definition by `register_metrics()` below
(called from InventoryConfig.ready()).

Every function takes a Scope and a Window and returns a Reading. A window
is half-open, since <= time < until, as the API's since/until filters are:
what happened exactly at `until` belongs to the next window, so daily
windows (the KPI rollups) add up without counting anything twice. An empty
scope (no locations, no sources) measures nothing: no data.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, Sum
from django.db.models.functions import Abs

from controltower.db import nearest_rank_of
from controltower import records
from controltower.metrics import HIGHER, LOWER, Reading, Unit, register, share

from .counts import Accuracy, accuracy
from .models import (
    CONTROL_TOWER_SOURCE,
    SKU,
    BarcodeClash,
    EventType,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
    SourceSystem,
    Transfer,
    UnitConversion,
)


def codes(model, ids):
    """The codes of `ids` (a Scope's locations or sources) for a records URL; None for no restriction."""
    return None if ids is None else set(model.objects.filter(pk__in=ids).values_list("code", flat=True))


def in_window(queryset, field, window):
    """The rows of `queryset` whose time `field` is in the window (half-open)."""
    if window.since is not None:
        queryset = queryset.filter(**{f"{field}__gte": window.since})
    return queryset.filter(**{f"{field}__lt": window.until})


def received_in(queryset, window):
    """The rows of `queryset` received in the window."""
    return in_window(queryset, "received_at", window)


def of_sources(queryset, scope, field="source"):
    """The rows whose `field` (a source; "" for the sources themselves) is
    one of the scope's; every source but the tower's own (not a feed) when
    the scope names none."""
    prefix = f"{field}__" if field else ""
    if scope.sources is None:
        return queryset.exclude(**{f"{prefix}code": CONTROL_TOWER_SOURCE})
    return queryset.filter(**{f"{prefix}pk__in": scope.sources})


def union_of(scopes, part):
    """The ids of `part` that any of `scopes` names; None when one of them
    has no restriction there."""
    ids = set()
    for scope in scopes:
        if getattr(scope, part) is None:
            return None
        ids |= getattr(scope, part)
    return ids


def codes_of(model, scopes, part):
    """codes() for many scopes from one query: a function giving each scope
    the codes of its `part` (None for no restriction)."""
    named = set().union(*(getattr(scope, part) or () for scope in scopes))
    known = dict(model.objects.filter(pk__in=named).values_list("pk", "code")) if named else {}

    def codes_in(scope):
        ids = getattr(scope, part)
        return None if ids is None else {known[pk] for pk in ids if pk in known}
    return codes_in


def by_location(rows_of_location, scope):
    """The rows of the scope's locations (every row for no restriction), from
    {location id: [rows]}."""
    if scope.locations is None:
        return [row for rows in rows_of_location.values() for row in rows]
    return [row for pk in scope.locations for row in rows_of_location.get(pk, ())]


def each_location_scope(scopes, rows_of_location, read):
    """The batched metric functions' one loop: a Reading per scope, no data
    for a scope that names no location, else `read(scope, rows)` with the
    rows of its locations (from {location id: [rows]}, see by_location)."""
    return [Reading(value=None, sample=0) if empty(scope, "locations")
            else read(scope, by_location(rows_of_location, scope)) for scope in scopes]


def empty(scope, *parts):
    """The scope names no location or no source among `parts`: nothing to measure."""
    return any(getattr(scope, part) is not None and not getattr(scope, part) for part in parts)


# --------------------------------------------------------------------------
# Item master (Scope.locations: the SKUs those locations carry). The item
# master keeps no history, so these read it as it stands; the refused
# barcodes are the ones refused in the window.
# --------------------------------------------------------------------------

def item_master_problem():
    """What makes an active SKU incomplete: no unit cost above zero, no
    category or base unit, or a unit conversion the item master import would
    refuse (a factor below 1, or the base unit holding other than 1 of
    itself; only the admin can store those)."""
    return Q(unit_cost__lte=0) | Q(category="") | Q(base_unit="") | Q(Exists(bad_conversions()))


def bad_conversions():
    """The outer SKU's unit conversions the item master refuses (a factor
    below 1, or the base unit as anything but 1), as a subquery."""
    return UnitConversion.objects.filter(sku=OuterRef("pk")).filter(
        Q(factor__lt=1) | (Q(unit=OuterRef("base_unit")) & ~Q(factor=1))
    )


def carried_skus(scopes):
    """{location id: {SKU id}} of the SKUs each location of `scopes` carries
    (has a stock position for), read once; None when a scope names no
    locations (the whole item master)."""
    location_ids = union_of(scopes, "locations")
    if location_ids is None:
        return None
    carried = {}
    for location_id, sku_id in Position.objects.filter(location_id__in=location_ids).values_list(
            "location_id", "sku_id"):
        carried.setdefault(location_id, set()).add(sku_id)
    return carried


def skus_of(carried, scope):
    """The SKU ids of `scope` (None: every SKU) from carried_skus()."""
    if scope.locations is None or carried is None:
        return None
    return set().union(*(carried.get(pk, set()) for pk in scope.locations))


def _item_master_many(scopes, problem, read):
    """The item-master readings of many scopes: `read(scope, active, bad)`
    with the ids of the active SKUs in scope (those its locations carry, or
    all) and of those among them matching `problem`; no data for a scope
    that names no location. Read once for all the scopes."""
    carried = carried_skus(scopes)
    active = set(SKU.objects.filter(active=True).values_list("pk", flat=True))
    bad = set(SKU.objects.filter(active=True).filter(problem).values_list("pk", flat=True))
    location_codes = codes_of(Location, scopes, "locations")
    readings = []
    for scope in scopes:
        if empty(scope, "locations"):
            readings.append(Reading(value=None, sample=0))
            continue
        mine = skus_of(carried, scope)
        in_scope = active if mine is None else active & mine
        readings.append(read(in_scope, bad & in_scope, location_codes(scope)))
    return readings


def item_master_completeness_many(scopes, window):
    def read(active, bad, locations):
        return Reading(
            value=share(len(active) - len(bad), len(active)), sample=len(active),
            records_url=records.url("skus", active="true", locations=locations),
            detail={"complete": len(active) - len(bad), "incomplete": len(bad)},
        )
    return _item_master_many(scopes, item_master_problem(), read)


def conversion_conflicts_many(scopes, window):
    """Active SKUs in scope with a unit conversion the item master refuses;
    no data when the scope carries no active SKU."""
    def read(active, bad, locations):
        return Reading(
            value=Decimal(len(bad)) if active else None, sample=len(active),
            records_url=records.url("skus", active="true", locations=locations, conversion_refused="true"),
            detail={"skus": len(active)},
        )
    return _item_master_many(scopes, Q(Exists(bad_conversions())), read)


def duplicate_barcodes_many(scopes, window):
    """Barcodes an item master import tried to give to a second SKU in the
    window (kept as BarcodeClash when the row was refused), where one of the
    two SKUs is carried by the scope's locations. The tower itself never
    holds a barcode on two SKUs (the import refuses it and the database
    forbids it), so what it can measure is how often the source's item
    master still carries one. No data when there is no item master, or the
    locations carry no SKU."""
    if not SKU.objects.exists():
        return [Reading(value=None, sample=0) for _ in scopes]
    clashes = list(in_window(BarcodeClash.objects.all(), "refused_at", window).values_list(
        "barcode", "sku_code", "held_by"))
    carried = carried_skus(scopes)
    code_of = dict(SKU.objects.filter(pk__in=set().union(*carried.values())).values_list("pk", "code")) \
        if carried else {}
    location_codes = codes_of(Location, scopes, "locations")
    readings = []
    for scope in scopes:
        mine = skus_of(carried, scope)
        if empty(scope, "locations") or (mine is not None and not mine):
            readings.append(Reading(value=None, sample=0))
            continue
        codes_in = None if mine is None else {code_of[pk] for pk in mine}
        hits = [c for c in clashes if codes_in is None or c[1] in codes_in or c[2] in codes_in]
        readings.append(Reading(
            value=Decimal(len({barcode for barcode, *_ in hits})), sample=len(hits),
            records_url=records.url("barcode-clashes", since=window.since, until=window.until,
                                    locations=location_codes(scope)),
        ))
    return readings


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
        records_url=records.url(
            "rejections", sources=codes(SourceSystem, scope.sources),
            received_since=window.since, received_until=window.until,
        ),
        detail={"accepted": accepted, "refused": refused},
    )


def _sync_latency(fraction):
    """The metric function of one percentile of the sync latency, for many
    scopes at once: the one rule for p50 and p95."""

    def sync_latency(scopes, window):
        """The `fraction` percentile (nearest rank) of received_at -
        occurred_at, in seconds, of the ledger lines received in the window
        from each scope's sources (and at its locations when it names any).
        The lines of every scope are read once, by location and source."""
        measured = [scope for scope in scopes if not empty(scope, "sources", "locations")]
        events = received_in(InventoryEvent.objects.all(), window)
        locations, sources = union_of(measured, "locations"), union_of(measured, "sources")
        if locations is not None:
            events = events.filter(location_id__in=locations)
        if sources is not None:
            events = events.filter(source_id__in=sources)
        at_location, from_source = {}, {}
        for location_id, source_id, event_type, latency_ms in (
            events.values_list("location_id", "source_id", "type", "latency_ms") if measured else ()
        ):
            at_location.setdefault(location_id, []).append((source_id, event_type, latency_ms))
            from_source.setdefault(source_id, []).append((location_id, event_type, latency_ms))
        tower = set(SourceSystem.objects.filter(code=CONTROL_TOWER_SOURCE).values_list("pk", flat=True))
        location_codes = codes_of(Location, measured, "locations")
        source_codes = codes_of(SourceSystem, measured, "sources")
        readings = []
        for scope in scopes:
            if empty(scope, "sources", "locations"):
                readings.append(Reading(value=None, sample=0))
                continue
            if scope.locations is None and scope.sources is not None:
                lines = [(event_type, ms) for pk in scope.sources for _loc, event_type, ms in from_source.get(pk, ())]
            else:
                # Every source but the tower's own (not a feed) when the scope names none.
                lines = [(event_type, ms) for source_id, event_type, ms in by_location(at_location, scope)
                         if (source_id not in tower if scope.sources is None else source_id in scope.sources)]
            by_type = {}
            for event_type, ms in lines:
                by_type.setdefault(event_type, []).append(ms)
            latency_ms = nearest_rank_of(sorted(ms for _type, ms in lines), fraction)
            readings.append(Reading(
                value=None if latency_ms is None else Decimal(latency_ms) / 1000, sample=len(lines),
                records_url=records.url(
                    "events", sources=source_codes(scope), locations=location_codes(scope),
                    received_since=window.since, received_until=window.until,
                ),
                # The same percentile per event type (seconds), the slow kinds of line found.
                detail={"by_event_type": {
                    event_type: Decimal(nearest_rank_of(sorted(values), fraction)) / 1000
                    for event_type, values in sorted(by_type.items())
                }} if lines else {},
            ))
        return readings

    return sync_latency


sync_latency_p50_many = _sync_latency(Decimal("0.50"))
sync_latency_p95_many = _sync_latency(Decimal("0.95"))


# --------------------------------------------------------------------------
# Inventory record accuracy (Scope.locations): inventory.counts owns the rule.
# --------------------------------------------------------------------------

def _accuracy(scopes, window):
    """[(Accuracy, records URL)] of each scope, from one accuracy() over the
    locations of them all (inventory.counts owns the rule)."""
    location_ids = union_of(scopes, "locations")
    if location_ids is None:
        location_ids = Location.objects.values_list("pk", flat=True)
    found = accuracy(location_ids, window.since, window.until)
    location_codes = codes_of(Location, scopes, "locations")
    totals = []
    for scope in scopes:
        total = Accuracy()
        for pk in found if scope.locations is None else scope.locations:
            if pk in found:
                total.counted += found[pk].counted
                total.exact += found[pk].exact
                total.within_tolerance += found[pk].within_tolerance
        url = records.url(
            "count-variances", locations=location_codes(scope), since=window.since, until=window.until,
        )
        totals.append((total, url))
    return totals


def inventory_accuracy_exact_many(scopes, window):
    return [Reading(value=total.share_exact, sample=total.counted, records_url=url,
                    detail={"exact": total.exact, "counted_pairs": total.counted})
            for total, url in _accuracy(scopes, window)]


def inventory_accuracy_tolerance_many(scopes, window):
    return [Reading(value=total.share_within_tolerance, sample=total.counted, records_url=url,
                    detail={"within_tolerance": total.within_tolerance, "counted_pairs": total.counted})
            for total, url in _accuracy(scopes, window)]


# --------------------------------------------------------------------------
# Manual adjustments (Scope.locations): what people corrected by hand
# --------------------------------------------------------------------------

def occurred_in(queryset, window):
    """The ledger lines of `queryset` that occurred in the window."""
    return in_window(queryset, "occurred_at", window)


def _adjustments(scopes, window):
    """[(lines, units, value at cost, records URL)] of each scope: the
    adjustment lines that occurred in the window at its locations, from any
    source (a corrective adjustment the tower posts for a case is a person's
    too); cycle counts are counts, not adjustments. Units and value are of
    the quantity either way (a write-up and a write-down never net). Read
    once for all the scopes, by location."""
    lines = occurred_in(InventoryEvent.objects.filter(type=EventType.ADJUSTMENT), window)
    location_ids = union_of(scopes, "locations")
    if location_ids is not None:
        lines = lines.filter(location_id__in=location_ids)
    at_cost = ExpressionWrapper(Abs(F("quantity")) * F("sku__unit_cost"),
                                output_field=DecimalField(max_digits=24, decimal_places=4))
    at_location = {
        row["location_id"]: [row]
        for row in lines.values("location_id").annotate(lines=Count("id"), units=Sum(Abs("quantity")),
                                                        value=Sum(at_cost))
    }
    location_codes = codes_of(Location, scopes, "locations")
    totals = []
    for scope in scopes:
        rows = by_location(at_location, scope)
        value = sum((Decimal(row["value"] or 0) for row in rows), Decimal(0)).quantize(Decimal("0.01"))
        url = records.url("events", type=EventType.ADJUSTMENT, locations=location_codes(scope),
                          since=window.since, until=window.until)
        totals.append((sum(row["lines"] for row in rows), sum(row["units"] or 0 for row in rows), value, url))
    return totals


def manual_adjustment_volume_many(scopes, window):
    return [
        Reading(value=None, sample=0) if empty(scope, "locations")
        else Reading(value=Decimal(lines), sample=lines, records_url=url,
                     detail={"units": units, "value_at_cost": value})
        for scope, (lines, units, value, url) in zip(scopes, _adjustments(scopes, window), strict=True)
    ]


def manual_adjustment_value_many(scopes, window):
    return [
        Reading(value=None, sample=0) if empty(scope, "locations")
        else Reading(value=value, sample=lines, records_url=url, detail={"adjustments": lines, "units": units})
        for scope, (lines, units, value, url) in zip(scopes, _adjustments(scopes, window), strict=True)
    ]


# --------------------------------------------------------------------------
# Transfer lead time (Scope.locations: the receiving end)
# --------------------------------------------------------------------------

# Ages of the open transfers, as (detail key, from, up to): how long in transit.
OPEN_TRANSFER_AGES = (
    ("open_under_1_day", timedelta(0), timedelta(days=1)),
    ("open_1_to_3_days", timedelta(days=1), timedelta(days=3)),
    ("open_3_to_7_days", timedelta(days=3), timedelta(days=7)),
    ("open_over_7_days", timedelta(days=7), None),
)


def transfer_lead_time_many(scopes, window):
    """The median (nearest rank) of transfer_in time - transfer_out time, in
    seconds, of the transfer lines (transfer x SKU) received at each scope's
    locations in the window; a transfer whose shipment never reached the
    tower has no lead time. Detail: the transfers to those locations still
    open (shipped, not received) at the end of the window, by age. Read once
    for all the scopes, by receiving location."""
    transfers = Transfer.objects.all()
    location_ids = union_of(scopes, "locations")
    if location_ids is not None:
        transfers = transfers.filter(to_location_id__in=location_ids)
    received = received_in(transfers.filter(shipped_at__isnull=False), window)
    leads, still_open = {}, {}
    for pk, shipped_at, received_at in received.values_list("to_location_id", "shipped_at", "received_at"):
        leads.setdefault(pk, []).append(received_at - shipped_at)
    for pk, shipped_at in transfers.filter(shipped_at__lt=window.until).filter(
            Q(received_at__isnull=True) | Q(received_at__gte=window.until)).values_list("to_location_id", "shipped_at"):
        still_open.setdefault(pk, []).append(window.until - shipped_at)
    location_codes = codes_of(Location, scopes, "locations")

    def read(scope, rows):
        lead_times = sorted(rows)
        lead = nearest_rank_of(lead_times, Decimal("0.50"))
        ages = by_location(still_open, scope)
        return Reading(
            value=None if lead is None else Decimal(str(lead.total_seconds())), sample=len(lead_times),
            records_url=records.url("events", type=EventType.TRANSFER_IN, locations=location_codes(scope),
                                    since=window.since, until=window.until),
            detail={key: sum(1 for age in ages if youngest <= age and (oldest is None or age < oldest))
                    for key, youngest, oldest in OPEN_TRANSFER_AGES},
        )
    return each_location_scope(scopes, leads, read)


def register_metrics():
    """The inventory metrics: each defined once, in the words every screen shows."""
    register(
        "item_master_completeness", "Item master completeness", unit=Unit.PERCENT, better=HIGHER,
        compute_many=item_master_completeness_many,
        target="99", amber="95", scopes=("locations",), gate_only=True,
        definition="Active SKUs with a unit cost above zero, a category and a base unit, and no unit "
                   "conversion the item master would refuse, over the active SKUs the locations carry "
                   "(have stock positions for; every active SKU for the whole estate). The item master "
                   "as it stands: the window is not used.",
    )
    register(
        "duplicate_barcodes", "Duplicate barcodes", unit=Unit.COUNT, better=LOWER,
        compute_many=duplicate_barcodes_many,
        target="0", amber="5", scopes=("locations",), gate_only=True,
        definition="Barcodes an item master load tried to give to a second SKU in the window (refused, "
                   "as the tower holds a barcode on one SKU only), where either SKU is carried by the "
                   "locations.",
    )
    register(
        "conversion_conflicts", "Unit conversion conflicts", unit=Unit.COUNT, better=LOWER,
        compute_many=conversion_conflicts_many,
        target="0", amber="5", scopes=("locations",), gate_only=True,
        definition="Active SKUs carried by the locations with a unit conversion the item master refuses "
                   "(a factor below 1, or the base unit as other than 1 of itself): their quantities "
                   "cannot be trusted in base units. The item master as it stands.",
    )
    register(
        "event_acceptance_rate", "Event acceptance rate", unit=Unit.PERCENT, better=HIGHER,
        compute=event_acceptance_rate,
        target="99.5", amber="98", scopes=("sources",),
        definition="Events taken into the ledger over events received from the sources (taken, rejected "
                   "or refused as a conflict) in the window. Resent duplicates are left out; a rejection "
                   "replayed after a master-data fix counts as the rejection it was.",
    )
    register(
        "sync_latency_p50", "Sync latency p50", unit=Unit.SECONDS, better=LOWER,
        compute_many=sync_latency_p50_many,
        target="60", amber="300", scopes=("locations", "sources"),
        definition="Median (50th percentile) of received time minus occurred time of the events the ledger "
                   "took from the sources in the window (at the given locations, if any). Also shown: the same "
                   "percentile per event type.",
    )
    register(
        "sync_latency_p95", "Sync latency p95", unit=Unit.SECONDS, better=LOWER,
        compute_many=sync_latency_p95_many,
        target="300", amber="900", scopes=("locations", "sources"),
        definition="95th percentile of received time minus occurred time of the events the ledger took "
                   "from the sources in the window (at the given locations, if any). Also shown: the same "
                   "percentile per event type.",
    )
    register(
        "inventory_accuracy_exact", "Inventory record accuracy", unit=Unit.PERCENT, better=HIGHER,
        compute_many=inventory_accuracy_exact_many,
        target="95", amber="80", scopes=("locations",),
        definition="Counted location x SKU pairs whose latest count in the window equals the record as of "
                   "the count time, over all counted pairs (exact match; an over and an under never net).",
    )
    register(
        "inventory_accuracy_tolerance", "Inventory record accuracy within tolerance", unit=Unit.PERCENT,
        better=HIGHER, compute_many=inventory_accuracy_tolerance_many,
 target="98", amber="90", scopes=("locations",),
        definition="Counted location x SKU pairs whose latest count in the window is within the location "
                   "kind's count tolerance of the record, over all counted pairs.",
    )
    register(
        "manual_adjustment_volume", "Manual adjustment volume", unit=Unit.COUNT, better=LOWER,
        compute_many=manual_adjustment_volume_many,
        target="10", amber="25", scopes=("locations",),
        definition="Manual stock adjustments (each with its reason code, from a source or posted for a case) "
                   "that occurred at the locations in the window; cycle counts are not adjustments. Also "
                   "shown: their units and value at cost, write-ups and write-downs added, never netted.",
    )
    register(
        "manual_adjustment_value", "Manual adjustment value", unit=Unit.VALUE, better=LOWER,
        compute_many=manual_adjustment_value_many,
        target="500", amber="1500", scopes=("locations",),
        definition="Value at the SKU's unit cost of the manual stock adjustments that occurred at the "
                   "locations in the window (cycle counts excluded); a write-up and a write-down both add, "
                   "never net.",
    )
    register(
        "transfer_lead_time", "Transfer lead time", unit=Unit.SECONDS, better=LOWER,
        compute_many=transfer_lead_time_many,
        target="129600", amber="259200", scopes=("locations",), rollup_days=7,  # a store receives a few a week
        definition="Median of receipt time minus shipping time (the transfer in minus the transfer out) of the "
                   "transfer lines received at the locations in the window. Also shown: the transfers to "
                   "them still in transit at the end of the window, by age.",
    )
