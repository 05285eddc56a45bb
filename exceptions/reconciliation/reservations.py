"""Reservation drift: stock reserved longer than its channel's hold time.

A reservation is a `reserve` event. Its channel is the inventory Channel
whose code its `reason` gives exactly; a reserve whose reason names no
channel is its source's default channel's (SourceSystem.default_channel);
without either it is held for RECONCILIATION["reservation_hold_minutes"].
No event is refused for its reason: the reason only picks the hold time.

A reservation is consumed by `pick` and `release` events (from any source,
the tower's own included) with the same reference (the order number) at
the same location x SKU; reserves without a reference are consumed by picks
and releases without one. Within one location x SKU x reference the oldest
reservations are consumed first (as return_not_dispositioned does), so what
is still outstanding is the newest: the units beyond those reserved within
their hold time are overdue. Overdue units open one case per location x SKU
x reference (reference "" for the unreferenced ones); the case clears when
they are picked or released.

Auto-release: a source with `releases_expired_reservations` asks the tower
to release its overdue reservations itself (`release_expired`). The tower
posts a `release` through the ledger as its own source (CONTROL-TOWER),
reason `hold_expired`, the reservation's reference, at the moment the hold
expired, with the transaction id `hold-expired-<id of the newest expired
reserve>`: derived from the ledger, so two workers at once, or a run again
after a crash, release once (the second is a duplicate in the ledger). It
never releases more than the position holds in `reserved`.
"""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from controltower.db import aware, db_time
from controltower.locks import hold_until_commit
from controltower.when import duration_words, when
from inventory.ledger import ingest_events
from inventory.models import Channel, SourceSystem
from inventory.sources import control_tower_source

from ..detectors import Detector, register
from ..findings import CaseKind, Finding
from ..models import Case, CaseHistory, CaseLink
from .common import (
    LINEAGE_LIMIT,
    config,
    fetch_rows,
    local_time,
    money,
    severity_for_value,
    to_decimal,
)

RELEASE_REASON = "hold_expired"
TRANSACTION_PREFIX = "hold-expired-"


def _holds():
    """{channel id: Channel}, and the hold of a reservation that has no channel."""
    return {c.pk: c for c in Channel.objects.all()}, timedelta(minutes=config("reservation_hold_minutes"))


def _cutoff_sql(channels, default_hold, now):
    """SQL for the time before which a reservation of the row's channel has
    expired, and its parameters: one CASE over the (few) channels."""
    if not channels:
        return "%s", [db_time(now - default_hold)]
    whens = " ".join("WHEN %s THEN %s" for _ in channels)
    params = [v for pk, c in channels.items() for v in (pk, db_time(now - timedelta(minutes=c.hold_minutes)))]
    return f"CASE r.channel_id {whens} ELSE %s END", [*params, db_time(now - default_hold)]


def overdue_reservations(now=None) -> list[dict]:
    """Per location x SKU x reference with overdue reserved units: the
    quantities, the newest expired reserve (id, time, channel) and the
    position's reserved quantity. One set-based query."""
    now = now or timezone.now()
    channels, default_hold = _holds()
    cutoff, cutoff_params = _cutoff_sql(channels, default_hold, now)
    rows = fetch_rows(
        f"""
        WITH reserves AS (
            SELECT e.id, e.location_id, e.sku_id, e.reference, e.quantity, e.occurred_at, e.source_id,
                   COALESCE(rc.id, s.default_channel_id) AS channel_id
            FROM inventory_inventoryevent e
            JOIN inventory_sourcesystem s ON s.id = e.source_id
            LEFT JOIN inventory_channel rc ON rc.code = e.reason
            WHERE e.type = 'reserve'
        ),
        aged AS (
            SELECT r.*, CASE WHEN r.occurred_at <= {cutoff} THEN 1 ELSE 0 END AS expired
            FROM reserves r
        ),
        held AS (
            SELECT location_id, sku_id, reference,
                   CAST(SUM(quantity) AS BIGINT) AS reserved,
                   CAST(SUM(CASE WHEN expired = 0 THEN quantity ELSE 0 END) AS BIGINT) AS within_hold,
                   MAX(CASE WHEN expired = 1 THEN id END) AS last_expired_id,
                   MIN(occurred_at) AS first_reserved_at
            FROM aged
            GROUP BY location_id, sku_id, reference
        ),
        consumed AS (
            SELECT location_id, sku_id, reference, CAST(SUM(quantity) AS BIGINT) AS quantity
            FROM inventory_inventoryevent
            WHERE type IN ('pick', 'release')
            GROUP BY location_id, sku_id, reference
        )
        SELECT h.location_id, h.sku_id, h.reference, h.reserved, h.within_hold,
               COALESCE(c.quantity, 0) AS consumed,
               h.reserved - COALESCE(c.quantity, 0) - h.within_hold AS overdue,
               h.first_reserved_at, h.last_expired_id,
               last.occurred_at AS last_expired_at, last.source_id, last.channel_id,
               COALESCE(p.reserved, 0) AS position_reserved,
               loc.code AS location_code, loc.timezone, k.code AS sku_code, k.unit_cost
        FROM held h
        LEFT JOIN consumed c
               ON c.location_id = h.location_id AND c.sku_id = h.sku_id AND c.reference = h.reference
        JOIN reserves last ON last.id = h.last_expired_id
        JOIN inventory_location loc ON loc.id = h.location_id
        JOIN inventory_sku k ON k.id = h.sku_id
        LEFT JOIN inventory_position p ON p.location_id = h.location_id AND p.sku_id = h.sku_id
        WHERE h.reserved - COALESCE(c.quantity, 0) - h.within_hold > 0
        ORDER BY h.location_id, h.sku_id, h.reference
        """,
        cutoff_params,
    )
    for row in rows:
        channel = channels.get(row["channel_id"])
        row["channel"] = channel
        row["hold"] = timedelta(minutes=channel.hold_minutes) if channel else default_hold
        row["last_expired_at"] = aware(row["last_expired_at"])
        # The moment the newest expired reservation's hold ran out.
        row["expired_at"] = min(row["last_expired_at"] + row["hold"], now)
    return rows


def reservation_not_released(now=None) -> list[Finding]:
    """One finding per location x SKU x reference with reserved units held
    beyond their channel's hold time, never picked or released."""
    rows = overdue_reservations(now)
    lineage = _reserve_lineage(rows)
    findings = []
    for row in rows:
        overdue = row["overdue"]
        value = money(overdue * to_decimal(row["unit_cost"]))
        channel = row["channel"]
        held_by = f"the {channel.name} hold time" if channel else "the default hold time"
        order = f"order {row['reference']}" if row["reference"] else "no order reference"
        since = local_time(row["last_expired_at"], row["timezone"])
        findings.append(Finding(
            kind=CaseKind.RESERVATION_NOT_RELEASED,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            reference=row["reference"],
            source_id=row["source_id"],
            severity=severity_for_value(value),
            quantity_at_risk=overdue,
            value_at_risk=value,
            customer_impact="Reserved stock is hidden from ATP: customers cannot buy it.",
            summary=(
                f"{overdue} {row['sku_code']} at {row['location_code']} reserved ({order}) on or before "
                f"{when(since)}, held beyond {held_by} of {duration_words(row['hold'])}: "
                "never picked or released"
            ),
            details={
                "overdue": overdue,
                "reserved": row["reserved"],
                "picked_or_released": row["consumed"],
                "reserved_within_hold": row["within_hold"],
                "channel": channel.code if channel else "",
                "hold_minutes": int(row["hold"].total_seconds() // 60),
                "newest_expired_reserve_at": row["last_expired_at"].isoformat(),
            },
            lineage=[("event", pk) for pk in lineage.get((row["location_id"], row["sku_id"], row["reference"]), [])],
        ))
    return findings


def _reserve_lineage(rows):
    """Up to LINEAGE_LIMIT expired reserve event ids per (location, sku,
    reference), newest first: the overdue units are the newest expired ones."""
    found = {}
    for start in range(0, len(rows), 500):
        chunk = rows[start:start + 500]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
        for row in fetch_rows(
            f"WITH v(location_id, sku_id, reference, last_id) AS (VALUES {values}) "
            "SELECT e.location_id, e.sku_id, e.reference, e.id FROM inventory_inventoryevent e "
            "JOIN v ON e.location_id = v.location_id AND e.sku_id = v.sku_id AND e.reference = v.reference "
            "WHERE e.type = 'reserve' AND e.id <= v.last_id ORDER BY e.id DESC",
            [v for r in chunk for v in (r["location_id"], r["sku_id"], r["reference"], r["last_expired_id"])],
        ):
            ids = found.setdefault((row["location_id"], row["sku_id"], row["reference"]), [])
            if len(ids) < LINEAGE_LIMIT:
                ids.append(row["id"])
    return found


def release_expired(now=None) -> int:
    """Release the overdue reservations of the sources that ask for it; note
    each release on its open case. Returns how many releases were posted.

    Under one lock (PostgreSQL; SQLite's write transaction on its own), so a
    second worker reads the ledger after the first one's releases."""
    now = now or timezone.now()
    auto = set(SourceSystem.objects.filter(releases_expired_reservations=True).values_list("pk", flat=True))
    if not auto:
        return 0
    with transaction.atomic():
        hold_until_commit("reservations:release")
        rows = [
            row for row in overdue_reservations(now)
            if row["source_id"] in auto and row["position_reserved"] > 0
        ]
        if not rows:
            return 0
        events = [{
            "transaction_id": f"{TRANSACTION_PREFIX}{row['last_expired_id']}",
            "type": "release",
            "location": row["location_code"],
            "sku": row["sku_code"],
            "quantity": min(row["overdue"], row["position_reserved"]),
            "reference": row["reference"],
            "reason": RELEASE_REASON,
            "occurred_at": row["expired_at"].isoformat(),
        } for row in rows]
        source = control_tower_source()
        posted = []
        for start in range(0, len(events), settings.INGEST_MAX_EVENTS):
            chunk = events[start:start + settings.INGEST_MAX_EVENTS]
            report = ingest_events(source, chunk, received_at=now, keep_rejections=False)
            posted += [(row, event) for row, event, result in zip(rows[start:], chunk, report.results)
                       if result.status == "accepted"]
        _note_on_cases(source, posted, now)
    return len(posted)


def _note_on_cases(source, posted, now):
    """The release in the history and lineage of each open case it settles
    (the case itself resolves when the condition is gone: run_reconciliation
    syncs again after releasing)."""
    if not posted:
        return
    kind = CaseKind.RESERVATION_NOT_RELEASED
    fingerprints = {
        Finding(kind=kind, location_id=row["location_id"], sku_id=row["sku_id"], reference=row["reference"])
        .fingerprint: event for row, event in posted
    }
    cases = dict(Case.objects.filter(kind=kind, fingerprint__in=fingerprints, status__in=Case.ACTIVE)
                 .values_list("fingerprint", "pk"))
    event_ids = dict(source.events.filter(transaction_id__in=[e["transaction_id"] for e in fingerprints.values()])
                     .values_list("transaction_id", "pk"))
    CaseHistory.objects.bulk_create([
        CaseHistory(
            case_id=pk, at=now, action="released", field="reserved",
            to_value=event["transaction_id"],
            note=f"The tower released {event['quantity']} (hold expired): ledger line "
                 f"{source.code} {event['transaction_id']}.",
        )
        for fingerprint, pk in cases.items() for event in [fingerprints[fingerprint]]
    ])
    CaseLink.objects.bulk_create([
        CaseLink(case_id=pk, kind=CaseLink.Kind.EVENT, object_id=event_ids[fingerprints[fingerprint]["transaction_id"]])
        for fingerprint, pk in cases.items()
    ], ignore_conflicts=True)


# Web carts hold for 30 min: a reservation is seen within minutes of expiring.
# The tower releases the expired holds of the sources that ask it to: their
# cases clear in the same run.
register(Detector(CaseKind.RESERVATION_NOT_RELEASED, "Reservation not released", reservation_not_released,
                  every_s=300, timed=True, afterwards=release_expired))
