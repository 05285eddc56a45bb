"""Repairing the projection: positions checked or rebuilt from the ledger fold,
and kept rejections replayed once the master data is fixed."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controltower.db import chunks
from controltower.locks import lock_rows

from ..models import (
    SKU,
    STATES,
    CountAnchor,
    EventType,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
)
from .. import counts
from .fold import fold_ledger
from .posting import ingest_events


@dataclass
class RebuildReport:
    positions_checked: int
    differences: list  # (location_code, sku_code, state, stored, ledger)
    repaired: bool


def rebuild_positions(repair=False, location_ids=None) -> RebuildReport:
    """Compare every position with the ledger fold; with repair, fix them
    (and the count anchors and count variances) inside one transaction."""
    with transaction.atomic():
        folded = fold_ledger(location_ids=location_ids)
        positions = Position.objects.all()
        if location_ids is not None:
            positions = positions.filter(location_id__in=location_ids)
        if repair and connection.vendor == "postgresql":
            positions = lock_rows(positions)
        stored = {
            (row["location_id"], row["sku_id"]): row
            for row in positions.values("id", "location_id", "sku_id", *STATES)
        }
        keys = set(stored) | {(loc, sku) for loc, sku, _ in folded}
        differences = []
        fixes = defaultdict(dict)
        for loc, sku in keys:
            row = stored.get((loc, sku), {})
            for state in STATES:
                have = row.get(state, 0)
                want = folded.get((loc, sku, state), 0)
                if have != want:
                    differences.append((loc, sku, state, have, want))
                    fixes[(loc, sku)][state] = want
        if repair:
            missing = [pair for pair in fixes if pair not in stored]
            Position.objects.bulk_create(
                [Position(location_id=loc, sku_id=sku) for loc, sku in missing], ignore_conflicts=True
            )
            for (loc, sku), values in fixes.items():
                Position.objects.filter(location_id=loc, sku_id=sku).update(**values, updated_at=timezone.now())
            _rebuild_count_anchors(location_ids)
            counts.refresh_all(location_ids)
    codes = _codes_for(differences)
    named = [
        (codes["loc"][loc], codes["sku"][sku], state, have, want)
        for loc, sku, state, have, want in sorted(differences)
    ]
    return RebuildReport(positions_checked=len(keys), differences=named, repaired=repair)


def _rebuild_count_anchors(location_ids=None):
    count_events = InventoryEvent.objects.filter(type=EventType.CYCLE_COUNT)
    anchors = CountAnchor.objects.all()
    if location_ids is not None:
        count_events = count_events.filter(location_id__in=location_ids)
        anchors = anchors.filter(location_id__in=location_ids)
    latest = {}
    for event in count_events.order_by("occurred_at", "id").only(
        "id", "location_id", "sku_id", "to_state", "occurred_at", "quantity"
    ):
        latest[(event.location_id, event.sku_id, event.to_state)] = event
    anchors.delete()
    CountAnchor.objects.bulk_create(
        [
            CountAnchor(
                location_id=loc, sku_id=sku, state=state, counted_at=e.occurred_at,
                event_id=e.id, counted_quantity=e.quantity,
            )
            for (loc, sku, state), e in latest.items()
        ]
    )


def _codes_for(differences):
    loc_ids = {d[0] for d in differences}
    sku_ids = {d[1] for d in differences}
    return {
        "loc": dict(Location.objects.filter(id__in=loc_ids).values_list("id", "code")),
        "sku": dict(SKU.objects.filter(id__in=sku_ids).values_list("id", "code")),
    }


def replay_rejections(source=None, limit=50000, ids=None):
    """Post kept rejections again, after the master data was fixed: inventory
    events to the ledger, journey steps to the journeys, observations to
    the observations (RejectedEvent.feed).
    Every pending one, or those of `source`, or only the rejections `ids`
    (the integration health screen's choice).

    A rejection that goes in now (accepted, or a duplicate of what is in the
    ledger) is closed with that status; one still rejected stays open with
    its new errors. Returns the counts of this replay."""
    # The journeys and observations post through the ledger's rules: imported late.
    from ..journeys import ingest_steps
    from ..observations import observe

    pending = RejectedEvent.objects.waiting().filter(kind=RejectedEvent.Kind.REJECTED)
    if source is not None:
        pending = pending.filter(source=source)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    totals = {"accepted": 0, "duplicate": 0, "conflict": 0, "rejected": 0}
    by_feed = defaultdict(list)
    for rejection in pending.select_related("source").order_by("id")[:limit]:
        by_feed[(rejection.source, rejection.feed)].append(rejection)
    for (replay_source, feed), rejections in by_feed.items():
        for chunk in chunks(rejections, settings.INGEST_MAX_EVENTS):
            payloads = [r.payload for r in chunk]
            if feed == RejectedEvent.Feed.JOURNEYS:
                report = ingest_steps(replay_source, payloads, keep_rejections=False)
            elif feed == RejectedEvent.Feed.OBSERVATIONS:
                report = observe(replay_source, payloads, keep_rejections=False)
            else:
                # Counted when first received: a replay is not a new event from the source.
                report = ingest_events(replay_source, payloads, keep_rejections=False, counted=False)
            now = timezone.now()
            for rejection, result in zip(chunk, report.results):
                # An observation older than the level kept meanwhile is ignored: closed as such.
                totals[result.status] = totals.get(result.status, 0) + 1
                rejection.replay_status = result.status
                if result.status == "rejected":
                    rejection.errors = result.errors
                    rejection.cause = next(iter(result.errors), "unknown")
                else:
                    rejection.replayed_at = now
            RejectedEvent.objects.bulk_update(chunk, ["replay_status", "replayed_at", "errors", "cause"])
    return totals
