"""Cycle count variances and inventory record accuracy.

A cycle count is the truth as of its count time (DOMAIN.md). Its variance is
the counted quantity minus the record: the ledger as of the count time
without the count itself, folded as `inventory.ledger.book_sql` folds it (the
latest earlier count of the state, then the lines that occurred after that
count and at or before this one). A line that occurred before a count but
arrives after it is inside the counted quantity: it changes the count's
record and variance, never the position.

The variances are stored (CountVariance) and kept right at posting, in the
posting transaction (`record_variances`, called by the ledger): only a batch
with a count, or with a line that occurred at or before a count of its
state, recomputes anything, and only the counts it touches. A scheduled
recompute would leave a count's variance, its case and the accuracy wrong
until it ran, and would have to re-read every recent count to find the few a
late line changed.

A count with nothing on record before it (no ledger line of its location x
SKU x state at or before it: the opening balance a migration loads) has no
record and no variance: it is stored, and left out of accuracy and cases.

Tolerance per location kind: settings.RECONCILIATION["count_tolerance"]. A
variance is within tolerance when it is at most `units` units or at most
`percent` of the record, either one.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from controltower.db import aware, chunks, db_time, values_clause
from controltower.metrics import share

from .ledger.fold import book_sql
from .models import CountAnchor, CountVariance, EventType, InventoryEvent

CHUNK = 500  # counts per statement: SQLite's bound parameters


def count_tolerance(location_kind):
    """{"units": int, "percent": Decimal} of a location kind."""
    tolerance = settings.RECONCILIATION["count_tolerance"][location_kind]
    return {"units": int(tolerance["units"]), "percent": Decimal(tolerance["percent"])}


def within_tolerance(variance, record, tolerance):
    """At most `units` off, or at most `percent` of the record off."""
    off = abs(variance)
    return off <= tolerance["units"] or off * 100 <= tolerance["percent"] * abs(record)


def record_variances(lines, ledger_ids, late_legs):
    """At posting, inside its transaction (the positions of these keys are
    locked): store the variance of each new count and recompute the counts a
    new line changes. `late_legs` are (location, sku, state, occurred_at)
    of the lines the positions did not take because a count already holds
    them. A new count also changes the record of the next count of its
    state when it arrives late."""
    counts = {ledger_ids[line.transaction_id] for line in lines if line.type == EventType.CYCLE_COUNT}
    legs = list(late_legs) + [
        (line.location_id, line.sku_id, line.to_state, line.occurred_at)
        for line in lines if line.type == EventType.CYCLE_COUNT
    ]
    refresh_variances(counts | _counts_at_or_after(legs))


def _counts_at_or_after(legs):
    """Ids of stored counts of each leg's location x SKU x state that occurred
    at or after the leg: the counts whose record holds it."""
    earliest = {}
    for loc, sku, state, at in legs:
        key = (loc, sku, state)
        earliest[key] = min(at, earliest.get(key, at))
    found = set()
    for chunk in chunks(sorted(earliest.items()), CHUNK):
        values, params = values_clause([(*key, db_time(at)) for key, at in chunk], 4)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH k(loc, sku, state, at) AS (VALUES {values}) "
                "SELECT v.event_id FROM inventory_countvariance v JOIN k "
                "ON v.location_id = k.loc AND v.sku_id = k.sku AND v.state = k.state AND v.counted_at >= k.at",
                params,
            )
            found.update(row[0] for row in cursor.fetchall())
    return found


def refresh_variances(count_ids):
    """Compute and store the variance of these cycle_count events."""
    if not count_ids:
        return
    now = timezone.now()
    events = InventoryEvent.objects.filter(id__in=count_ids, type=EventType.CYCLE_COUNT).select_related("location")
    events = sorted(events.only("id", "location__kind", "sku_id", "to_state", "occurred_at", "quantity"),
                    key=lambda e: e.id)
    tolerances = {}
    for chunk in chunks(events, CHUNK):
        records = _records(chunk)
        rows = []
        for event in chunk:
            record = records.get(event.id)
            variance = None if record is None else event.quantity - record
            within = None
            if variance is not None:
                kind = event.location.kind
                tolerances.setdefault(kind, count_tolerance(kind))
                within = within_tolerance(variance, record, tolerances[kind])
            rows.append(CountVariance(
                event_id=event.id, location_id=event.location_id, sku_id=event.sku_id, state=event.to_state,
                counted_at=event.occurred_at, counted=event.quantity, record=record, variance=variance,
                within_tolerance=within, computed_at=now,
            ))
        CountVariance.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["event"],
            update_fields=["record", "variance", "within_tolerance", "computed_at"],
        )


def refresh_all(location_ids=None):
    """Recompute every stored variance (after a repair, or a tolerance change)."""
    counts = InventoryEvent.objects.filter(type=EventType.CYCLE_COUNT)
    if location_ids is not None:
        counts = counts.filter(location_id__in=location_ids)
    refresh_variances(list(counts.values_list("id", flat=True)))


def _legs_of(counts):
    """book_sql's CTEs over the location x SKU pairs of `counts` (events)."""
    pairs = sorted({(e.location_id, e.sku_id) for e in counts})

    def leg_scope(location_column):
        values, params = values_clause(pairs, 2)
        return f" AND ({location_column}, e.sku_id) IN (VALUES {values})", params

    return book_sql(leg_scope=leg_scope)


def _counts_cte(counts):
    values, params = values_clause(
        [(e.id, e.location_id, e.sku_id, e.to_state, db_time(e.occurred_at)) for e in counts], 5
    )
    return f"c(id, loc, sku, state, at) AS (VALUES {values})", params


# The latest other count of each count's state at or before it (the fold's
# order: time, then ledger id), from book_sql's `legs`.
PRIOR_CTE = """
    prior AS (
        SELECT c.id AS count_id, l.delta AS quantity, l.at,
               ROW_NUMBER() OVER (PARTITION BY c.id ORDER BY l.at DESC, l.id DESC) AS rn
        FROM c JOIN legs l ON l.loc = c.loc AND l.sku = c.sku AND l.state = c.state
        WHERE l.is_count = 1 AND l.id <> c.id AND l.at <= c.at
    )
"""


def _records(counts):
    """{count id: the record as of its time}, for the counts with any ledger
    line of their state at or before them (the others have no record)."""
    ctes, params = _legs_of(counts)
    c_cte, c_params = _counts_cte(counts)
    sql = f"""
        WITH {ctes}, {c_cte}, {PRIOR_CTE}
        SELECT c.id, COUNT(l.id) AS lines,
               MAX(p.quantity) AS prior_quantity,
               SUM(CASE WHEN l.is_count = 0 AND (p.at IS NULL OR l.at > p.at) THEN l.delta ELSE 0 END) AS moved
        FROM c
        LEFT JOIN prior p ON p.count_id = c.id AND p.rn = 1
        LEFT JOIN legs l ON l.loc = c.loc AND l.sku = c.sku AND l.state = c.state AND l.id <> c.id AND l.at <= c.at
        GROUP BY c.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params + c_params)
        return {
            count_id: int(prior or 0) + int(moved or 0)
            for count_id, lines, prior, moved in cursor.fetchall() if lines
        }


def late_lines(counts, limit):
    """{count id: ids of the lines that occurred before the count (after the
    count before it) but arrived after it, latest first, at most `limit`}:
    what changed the count's record since it was taken. `counts` are
    cycle_count events."""
    counts = list(counts)
    if not counts:
        return {}
    found = defaultdict(list)
    for chunk in chunks(counts, CHUNK):
        ctes, params = _legs_of(chunk)
        c_cte, c_params = _counts_cte(chunk)
        received = {e.id: e.received_at for e in chunk}
        sql = f"""
            WITH {ctes}, {c_cte}, {PRIOR_CTE}
            SELECT c.id, l.id, e.received_at
            FROM c
            JOIN legs l ON l.loc = c.loc AND l.sku = c.sku AND l.state = c.state AND l.is_count = 0 AND l.at <= c.at
            JOIN inventory_inventoryevent e ON e.id = l.id
            LEFT JOIN prior p ON p.count_id = c.id AND p.rn = 1
            WHERE p.at IS NULL OR l.at > p.at
            ORDER BY c.id, l.at DESC, l.id DESC
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, params + c_params)
            for count_id, line_id, line_received in cursor.fetchall():
                if aware(line_received) > received[count_id] and len(found[count_id]) < limit:
                    found[count_id].append(line_id)
    return dict(found)


def latest_counts(location_id, sku_id):
    """The latest count of each counted state of one position, with its
    variance (the case page's position card)."""
    latest = CountAnchor.objects.filter(location_id=location_id, sku_id=sku_id).values("event_id")
    return list(CountVariance.objects.filter(event_id__in=latest).order_by("state"))


@dataclass
class Accuracy:
    """Inventory record accuracy of one location over a period."""

    counted: int = 0  # location x SKU pairs counted (with a record to compare with)
    exact: int = 0  # their latest count equals the record
    within_tolerance: int = 0  # their latest count is within the location kind's tolerance

    @property
    def share_exact(self):
        """None when nothing was counted: no data, never 0% or 100%."""
        return share(self.exact, self.counted)

    @property
    def share_within_tolerance(self):
        return share(self.within_tolerance, self.counted)


def accuracy(location_ids, since=None, until=None):
    """{location id: Accuracy} over counts with since <= counted_at < until.

    Each counted location x SKU pair is judged by its latest count in the
    period, per counted state: it matches when every such count equals its
    record (and is within tolerance when every one is). Pairs are counted one
    by one, so a count over and a count under never net to a match (ECR).
    A location with no count in the period has counted = 0 (no data)."""
    location_ids = list(location_ids)
    result = {loc: Accuracy() for loc in location_ids}
    if not location_ids:
        return result
    period, period_params = "", []
    if since is not None:
        period += " AND v.counted_at >= %s"
        period_params.append(db_time(since))
    if until is not None:
        period += " AND v.counted_at < %s"
        period_params.append(db_time(until))
    for chunk in chunks(sorted(location_ids), CHUNK):
        places = ", ".join(["%s"] * len(chunk))
        sql = f"""
            WITH latest AS (
                SELECT v.location_id, v.sku_id, v.variance, v.within_tolerance,
                       ROW_NUMBER() OVER (
                           PARTITION BY v.location_id, v.sku_id, v.state ORDER BY v.counted_at DESC, v.event_id DESC
                       ) AS rn
                FROM inventory_countvariance v
                WHERE v.location_id IN ({places}) AND v.record IS NOT NULL{period}
            ),
            pairs AS (
                SELECT location_id, sku_id,
                       MIN(CASE WHEN variance = 0 THEN 1 ELSE 0 END) AS exact,
                       MIN(CASE WHEN within_tolerance THEN 1 ELSE 0 END) AS within
                FROM latest WHERE rn = 1 GROUP BY location_id, sku_id
            )
            SELECT location_id, COUNT(*), SUM(exact), SUM(within) FROM pairs GROUP BY location_id
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*chunk, *period_params])
            for loc, counted, exact, within in cursor.fetchall():
                result[loc] = Accuracy(counted=int(counted), exact=int(exact), within_tolerance=int(within))
    return result
