"""Reconciliation: compare what the systems say and hand the differences to the
case service.

One plain function per case kind returns list[Finding]; each is one
set-based query (PostgreSQL and SQLite), so the database does the work and
Python only words the findings. `run_reconciliation(kind)` computes a kind
and syncs its cases (exceptions.services.sync_findings): a finding opens or
refreshes the case with its fingerprint, a case whose condition is gone is
resolved. Running a kind twice, at once, or again after a crash gives the
same set of open cases.

Severity: 1 highest .. 4. Money at risk decides where there is money
(`severity_for_value`, thresholds in settings.RECONCILIATION); other kinds
say why in their function.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from decimal import Context, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Max, Min, OuterRef, Subquery
from django.utils import timezone

from inventory.fields import MAX_SMALL_INTEGER
from inventory.ledger import book_sql
from inventory.models import (
    Position,
    RejectedEvent,
    Snapshot,
    SourceSystem,
    Transfer,
)

from .findings import CaseKind, Finding
from .services import sync_findings

LINEAGE_LIMIT = 50  # events named on one case; the details keep the full count
CENT = Decimal("0.01")

# Sums in SQL. Every ledger and snapshot line holds at most MAX_QUANTITY
# (1e9) units (inventory.fields), so a SUM of them cast to BIGINT (9.2e18)
# overflows only past 9.2 billion lines at one location x SKU x state;
# millions of lines sum to 1e15-1e16. Products that could come near the end
# of bigint (a difference x 100 for a percent) are computed as DECIMAL, and
# money (quantity x unit cost) is DECIMAL on PostgreSQL and REAL on SQLite,
# neither of which overflows.


def _config(name):
    return settings.RECONCILIATION[name]


def severity_for_value(value):
    for threshold, severity in _config("severity_by_value"):
        if value >= Decimal(threshold):
            return severity
    return 4


def _money(value):
    """`value` to the cent. Computed from quantities x unit cost, it can have
    more digits than the default context's 28 (a position of 9e18 units at
    MAX_UNIT_COST): quantize with room for all of them, never raise. Finding
    bounds it to what Case.value_at_risk holds (exceptions.findings)."""
    value = Decimal(value or 0)
    if not value.is_finite():
        return value
    return value.quantize(CENT, context=Context(prec=max(28, value.adjusted() + 3)))


def _db_time(value):
    """A datetime as a raw-SQL parameter (SQLite stores naive UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


def _aware(value):
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt_timezone.utc)


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]


def _local(at, tz_name):
    return _aware(at).astimezone(ZoneInfo(tz_name))


# --------------------------------------------------------------------------
# Snapshots vs the ledger
# --------------------------------------------------------------------------

# A snapshot's lines and its locations, for the ledger's book as of its time
# (inventory.ledger.book_sql) to be folded for those locations only.
SNAPSHOT_SQL = """
    snap AS (
        SELECT id, location_id, sku_id, state, quantity, value
        FROM inventory_snapshotline WHERE snapshot_id = %s
    ),
    -- The snapshot's locations: one index probe per location, not a pass
    -- over every line.
    scope AS (
        SELECT l.id AS location_id FROM inventory_location l WHERE EXISTS (
            SELECT 1 FROM inventory_snapshotline x WHERE x.snapshot_id = %s AND x.location_id = l.id
        )
    ),
"""


def _in_snapshot_scope(location_column):
    return f" AND {location_column} IN (SELECT location_id FROM scope)", []


COMPARED_SQL = """
    SELECT s.id AS line_id, s.location_id, s.sku_id, s.state, s.quantity AS observed, s.value,
           COALESCE(b.quantity, 0) AS expected, k.unit_cost, k.code AS sku_code,
           loc.code AS location_code, loc.timezone{extra_columns}
    FROM snap s
    JOIN inventory_sku k ON k.id = s.sku_id
    JOIN inventory_location loc ON loc.id = s.location_id
    LEFT JOIN book b ON b.loc = s.location_id AND b.sku = s.sku_id AND b.state = s.state
    {extra_joins}
    WHERE {condition}
"""


def _latest_snapshots(source_kinds=None):
    """The latest snapshot of each active source (by as_of, then arrival)."""
    latest = Snapshot.objects.filter(source=OuterRef("source")).order_by("-as_of", "-id").values("pk")[:1]
    snapshots = Snapshot.objects.filter(pk=Subquery(latest), source__active=True).select_related("source")
    if source_kinds:
        snapshots = snapshots.filter(source__kind__in=source_kinds)
    return list(snapshots.order_by("source__code"))


def _compare_snapshot(snapshot, condition, *, ctes="", cte_params=(), condition_params=(), columns="", joins=""):
    """Rows of the snapshot's lines, with the ledger quantity as of its time,
    that meet `condition` (s = snapshot line, b = book, k = SKU, loc = location)."""
    book, book_params = book_sql(as_of=snapshot.as_of, leg_scope=_in_snapshot_scope)
    sql = "WITH " + ctes + SNAPSHOT_SQL + book + COMPARED_SQL.format(
        extra_columns=columns, extra_joins=joins, condition=condition
    )
    return _rows(sql, [*cte_params, snapshot.pk, snapshot.pk, *book_params, *condition_params])


def _decimal(value):
    return Decimal(str(value)) if value is not None else None


def _plain(value):
    """2 for 2.0000, 0.5 for 0.5000 (no exponent)."""
    return format(_decimal(value).normalize(), "f")


def snapshot_mismatch() -> list[Finding]:
    """Each source's latest snapshot vs the ledger as of the snapshot time."""
    return [finding for snapshot in _latest_snapshots() for finding in mismatches_in(snapshot)]


def mismatches_in(snapshot) -> list[Finding]:
    """The lines of one snapshot that differ from the ledger as of its time.

    A line is a mismatch when the difference is beyond the tolerance of its
    location kind in units, and in percent of the ledger quantity, and in
    value at cost: a difference small by any one measure is tolerated. Only
    the lines the source sent are compared."""
    tolerances = _config("snapshot_tolerance")
    row = "(%s, CAST(%s AS DECIMAL(14, 4)), CAST(%s AS DECIMAL(14, 4)), CAST(%s AS DECIMAL(14, 4)))"
    ctes = f"tol(kind, units, percent, value) AS (VALUES {', '.join([row] * len(tolerances))}),"
    cte_params = [v for kind, t in tolerances.items() for v in (kind, t["units"], t["percent"], t["value"])]
    difference = "ABS(CAST(s.quantity AS DECIMAL(20, 0)) - COALESCE(b.quantity, 0))"
    condition = (
        f"{difference} > tol.units"
        f" AND {difference} * 100 > tol.percent * ABS(COALESCE(b.quantity, 0))"
        f" AND {difference} * k.unit_cost > tol.value"
    )
    rows = _compare_snapshot(
        snapshot, condition, ctes=ctes, cte_params=cte_params,
        columns=", tol.units AS tol_units, tol.percent AS tol_percent, tol.value AS tol_value",
        joins="JOIN tol ON tol.kind = loc.kind",
    )
    return [_mismatch_finding(snapshot, row) for row in rows]


def _mismatch_finding(snapshot, row):
    source = snapshot.source
    difference = row["observed"] - row["expected"]
    value = _money(abs(difference) * _decimal(row["unit_cost"]))
    at = _local(snapshot.as_of, row["timezone"])
    return Finding(
        kind=CaseKind.SNAPSHOT_MISMATCH,
        location_id=row["location_id"],
        sku_id=row["sku_id"],
        reference=f"{source.code}:{row['state']}",
        source_id=source.pk,
        severity=severity_for_value(value),
        quantity_at_risk=abs(difference),
        value_at_risk=value,
        summary=(
            f"{source.code} says {row['observed']} {row['state']} of {row['sku_code']} at "
            f"{row['location_code']}, the ledger says {row['expected']} as of {at:%Y-%m-%d %H:%M}"
        ),
        details={
            "snapshot": snapshot.pk,
            "as_of": snapshot.as_of.isoformat(),
            "state": row["state"],
            "observed": row["observed"],
            "expected": row["expected"],
            "difference": difference,
            "tolerance": {
                "units": _plain(row["tol_units"]),
                "percent": _plain(row["tol_percent"]),
                "value": str(_money(_decimal(row["tol_value"]))),
            },
        },
        lineage=[("snapshot_line", row["line_id"])],
    )


def financial_variance() -> list[Finding]:
    """ERP snapshot value vs the ledger quantity x SKU unit cost, as of the
    snapshot time, beyond the financial tolerance (value and percent)."""
    tolerance = _config("financial_tolerance")
    book_value = "COALESCE(b.quantity, 0) * k.unit_cost"
    condition = (
        f"s.value IS NOT NULL AND ABS(s.value - {book_value}) > CAST(%s AS DECIMAL(14, 2))"
        f" AND ABS(s.value - {book_value}) * 100 > CAST(%s AS DECIMAL(14, 4)) * ABS({book_value})"
    )
    findings = []
    for snapshot in _latest_snapshots(source_kinds=[SourceSystem.Kind.ERP]):
        rows = _compare_snapshot(
            snapshot, condition, condition_params=[tolerance["value"], tolerance["percent"]]
        )
        findings += [_financial_finding(snapshot, row, tolerance) for row in rows]
    return findings


def _financial_finding(snapshot, row, tolerance):
    source = snapshot.source
    unit_cost = _decimal(row["unit_cost"])
    book_value = _money(row["expected"] * unit_cost)
    erp_value = _money(_decimal(row["value"]))
    difference = erp_value - book_value
    at = _local(snapshot.as_of, row["timezone"])
    return Finding(
        kind=CaseKind.FINANCIAL_VARIANCE,
        location_id=row["location_id"],
        sku_id=row["sku_id"],
        reference=f"{source.code}:{row['state']}",
        source_id=source.pk,
        severity=severity_for_value(abs(difference)),
        quantity_at_risk=abs(row["observed"] - row["expected"]),
        value_at_risk=abs(difference),
        summary=(
            f"{source.code} values {row['state']} {row['sku_code']} at {row['location_code']} at {erp_value}, "
            f"the ledger's {row['expected']} x {_money(unit_cost)} is {book_value} "
            f"as of {at:%Y-%m-%d %H:%M}"
        ),
        details={
            "snapshot": snapshot.pk,
            "as_of": snapshot.as_of.isoformat(),
            "state": row["state"],
            "observed_value": str(erp_value),
            "expected_value": str(book_value),
            "observed_quantity": row["observed"],
            "expected_quantity": row["expected"],
            "unit_cost": str(unit_cost),
            "tolerance": dict(tolerance),
        },
        lineage=[("snapshot_line", row["line_id"])],
    )


# --------------------------------------------------------------------------
# The ledger against itself and against master data
# --------------------------------------------------------------------------

def _store_day_sql(column):
    """The calendar day of `column` at the location `loc`: its local day on
    PostgreSQL; SQLite knows no time zones, so the UTC day there."""
    if connection.vendor == "postgresql":
        return f"CAST(({column} AT TIME ZONE loc.timezone) AS date)"
    return f"date({column})"


def _sales_gap_window(now):
    """The last N whole days before today (UTC); a store's own today, still
    going, is never compared."""
    end = datetime.combine(now.astimezone(dt_timezone.utc).date(), time(), tzinfo=dt_timezone.utc)
    return end - timedelta(days=_config("sales_gap_days")), end


def sales_posting_gap(now=None) -> list[Finding]:
    """POS sales vs the ERP's sales postings (`sales_posting` events, which
    move no stock) per location and store day.

    Only locations with postings in the window are compared (a store not yet
    on the ERP has nothing to post)."""
    now = now or timezone.now()
    start, end = _sales_gap_window(now)
    day = _store_day_sql("e.occurred_at")
    # A day wider on each side in UTC: a store day may start or end there.
    around = "e.occurred_at >= %s AND e.occurred_at < %s"
    params = [_db_time(start - timedelta(days=1)), _db_time(end + timedelta(days=1))]
    pos_sale = "(e.type = 'sale' AND s.kind = 'pos')"
    rows = _rows(
        f"""
        SELECT e.location_id, {day} AS day, loc.code AS location_code, loc.timezone AS timezone,
               CAST(SUM(CASE WHEN e.type = 'sale' THEN e.quantity ELSE 0 END) AS BIGINT) AS pos_quantity,
               CAST(SUM(CASE WHEN e.type = 'sales_posting' THEN e.quantity ELSE 0 END) AS BIGINT) AS erp_quantity,
               SUM(CASE WHEN e.type = 'sale' THEN e.quantity ELSE -e.quantity END * k.unit_cost) AS value_gap
        FROM inventory_inventoryevent e
        JOIN inventory_sourcesystem s ON s.id = e.source_id
        JOIN inventory_sku k ON k.id = e.sku_id
        JOIN inventory_location loc ON loc.id = e.location_id
        WHERE {around} AND ({pos_sale} OR e.type = 'sales_posting')
          AND e.location_id IN (
              SELECT e.location_id FROM inventory_inventoryevent e
              WHERE {around} AND e.type = 'sales_posting'
          )
        GROUP BY e.location_id, {day}, loc.code, loc.timezone
        HAVING SUM(CASE WHEN e.type = 'sale' THEN e.quantity ELSE -e.quantity END) <> 0
        ORDER BY e.location_id, day
        """,
        params * 2,
    )
    findings = []
    for row in rows:
        store_day = row["day"] if isinstance(row["day"], date) else date.fromisoformat(row["day"])
        store_today = now.astimezone(ZoneInfo(row["timezone"])).date()
        if not (start.date() <= store_day < end.date() and store_day < store_today):
            continue
        gap = row["pos_quantity"] - row["erp_quantity"]
        value = _money(abs(_decimal(row["value_gap"])))
        day_text = store_day.isoformat()
        findings.append(Finding(
            kind=CaseKind.SALES_POSTING_GAP,
            location_id=row["location_id"],
            sku_id=None,
            reference=day_text,
            severity=severity_for_value(value),
            quantity_at_risk=abs(gap),
            value_at_risk=value,
            summary=(
                f"POS sold {row['pos_quantity']} at {row['location_code']} on {day_text}, "
                f"the ERP posted {row['erp_quantity']}"
            ),
            details={"day": day_text, "pos_quantity": row["pos_quantity"], "erp_quantity": row["erp_quantity"]},
        ))
    return findings


def transfer_not_received(now=None) -> list[Finding]:
    """Shipped more than received, and shipped longer ago than the transfer SLA."""
    sla_hours = _config("transfer_sla_hours")
    cutoff = (now or timezone.now()) - timedelta(hours=sla_hours)
    transfers = (
        Transfer.objects.filter(quantity_shipped__gt=F("quantity_received"), shipped_at__lt=cutoff)
        .select_related("sku", "from_location", "to_location")
        .order_by("id")
    )
    findings = []
    for transfer in transfers:
        missing = transfer.quantity_shipped - transfer.quantity_received
        value = _money(missing * transfer.sku.unit_cost)
        origin = transfer.from_location.code if transfer.from_location else "a supplier"
        findings.append(Finding(
            kind=CaseKind.TRANSFER_NOT_RECEIVED,
            location_id=transfer.to_location_id,
            sku_id=transfer.sku_id,
            reference=transfer.reference,
            severity=severity_for_value(value),
            quantity_at_risk=missing,
            value_at_risk=value,
            customer_impact="Stock in transit cannot be sold at the destination.",
            summary=(
                f"Transfer {transfer.reference} from {origin} to {transfer.to_location.code}: "
                f"{missing} of {transfer.quantity_shipped} {transfer.sku.code} not received "
                f"{sla_hours} h after shipping"
            ),
            details={
                "shipped": transfer.quantity_shipped,
                "received": transfer.quantity_received,
                "shipped_at": transfer.shipped_at.isoformat(),
                "sla_hours": sla_hours,
            },
            lineage=[("transfer", transfer.pk)],
        ))
    return findings


def return_not_dispositioned(now=None) -> list[Finding]:
    """Returned stock waiting longer than the return SLA.

    FIFO: the oldest returns are dispositioned first, so what is still in
    `returned` is the most recent returns. The units beyond those returned
    within the SLA have waited too long. (A rule on the latest return alone
    would hide old stock behind every new return.)"""
    sla_hours = _config("return_sla_hours")
    cutoff = (now or timezone.now()) - timedelta(hours=sla_hours)
    rows = _rows(
        """
        SELECT p.location_id, p.sku_id, p.returned, COALESCE(r.recent, 0) AS recent,
               loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM inventory_position p
        JOIN inventory_location loc ON loc.id = p.location_id
        JOIN inventory_sku k ON k.id = p.sku_id
        LEFT JOIN (
            SELECT location_id, sku_id, CAST(SUM(quantity) AS BIGINT) AS recent
            FROM inventory_inventoryevent
            WHERE type = 'return' AND occurred_at > %s
            GROUP BY location_id, sku_id
        ) r ON r.location_id = p.location_id AND r.sku_id = p.sku_id
        WHERE p.returned > 0 AND p.returned > COALESCE(r.recent, 0)
        ORDER BY p.location_id, p.sku_id
        """,
        [_db_time(cutoff)],
    )
    findings = []
    for row in rows:
        overdue = row["returned"] - row["recent"]
        value = _money(overdue * _decimal(row["unit_cost"]))
        findings.append(Finding(
            kind=CaseKind.RETURN_NOT_DISPOSITIONED,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            severity=severity_for_value(value),
            quantity_at_risk=overdue,
            value_at_risk=value,
            customer_impact="Returned stock is not sellable until it is dispositioned.",
            summary=(
                f"{overdue} returned {row['sku_code']} at {row['location_code']} waiting "
                f"more than {sla_hours} h for a disposition"
            ),
            details={"returned": row["returned"], "returned_within_sla": row["recent"], "sla_hours": sla_hours},
        ))
    return findings


def receipt_without_po() -> list[Finding]:
    """Receipts whose reference names no PO line for that location and SKU
    (or that carry no reference), one finding per location x SKU x reference.

    Closed PO lines match too: a line closes because its receipts arrived."""
    rows = _rows(
        """
        SELECT e.location_id, e.sku_id, e.reference, CAST(SUM(e.quantity) AS BIGINT) AS quantity, COUNT(*) AS receipts,
               loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM inventory_inventoryevent e
        JOIN inventory_location loc ON loc.id = e.location_id
        JOIN inventory_sku k ON k.id = e.sku_id
        WHERE e.type = 'receipt' AND NOT EXISTS (
            SELECT 1 FROM inventory_purchaseorderline po
            WHERE po.po_number = e.reference AND po.location_id = e.location_id AND po.sku_id = e.sku_id
        )
        GROUP BY e.location_id, e.sku_id, e.reference, loc.code, k.code, k.unit_cost
        ORDER BY e.location_id, e.sku_id, e.reference
        """,
        [],
    )
    lineage = _receipt_lineage([(r["location_id"], r["sku_id"], r["reference"]) for r in rows])
    findings = []
    for row in rows:
        value = _money(row["quantity"] * _decimal(row["unit_cost"]))
        key = (row["location_id"], row["sku_id"], row["reference"])
        named = f"PO {row['reference']}" if row["reference"] else "no PO reference"
        findings.append(Finding(
            kind=CaseKind.RECEIPT_WITHOUT_PO,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            reference=row["reference"],
            severity=severity_for_value(value),
            quantity_at_risk=row["quantity"],
            value_at_risk=value,
            summary=(
                f"{row['location_code']} received {row['quantity']} {row['sku_code']} with {named}, "
                "and no PO line matches"
            ),
            details={"receipts": row["receipts"], "quantity": row["quantity"]},
            lineage=[("event", pk) for pk in lineage.get(key, [])],
        ))
    return findings


def _receipt_lineage(keys):
    """Up to LINEAGE_LIMIT receipt event ids per (location, sku, reference)."""
    found = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        values = ", ".join(["(%s, %s, %s)"] * len(chunk))
        for row in _rows(
            "SELECT e.location_id, e.sku_id, e.reference, e.id FROM inventory_inventoryevent e "
            f"WHERE e.type = 'receipt' AND (e.location_id, e.sku_id, e.reference) IN (VALUES {values}) "
            "ORDER BY e.id",
            [v for key in chunk for v in key],
        ):
            ids = found.setdefault((row["location_id"], row["sku_id"], row["reference"]), [])
            if len(ids) < LINEAGE_LIMIT:
                ids.append(row["id"])
    return found


def _seconds_apart_sql(a, b):
    if connection.vendor == "postgresql":
        return f"ABS(EXTRACT(EPOCH FROM ({a} - {b})))"
    return f"ABS(julianday({a}) - julianday({b})) * 86400"


def suspected_duplicate(now=None) -> list[Finding]:
    """The same location, SKU, type and quantity under two transaction ids
    within the duplicate window: a replay with new keys, or a double scan.

    Looks at events received in the look-back; each such event is paired
    with the earliest earlier one it repeats. Severity by value, never above
    3: it is a suspicion, not a fact."""
    window = _config("duplicate_window_s")
    since = (now or timezone.now()) - timedelta(hours=_config("duplicate_lookback_hours"))
    rows = _rows(
        f"""
        WITH pairs AS (
            SELECT MIN(o.id) AS earlier_id, d.id AS later_id
            FROM inventory_inventoryevent d
            JOIN inventory_inventoryevent o
              ON o.location_id = d.location_id AND o.sku_id = d.sku_id AND o.type = d.type
             AND o.quantity = d.quantity AND o.id < d.id AND o.transaction_id <> d.transaction_id
            WHERE d.received_at >= %s AND d.type <> 'cycle_count'
              AND {_seconds_apart_sql("o.occurred_at", "d.occurred_at")} <= %s
            GROUP BY d.id
        )
        SELECT p.earlier_id, p.later_id, d.location_id, d.sku_id, d.type, d.quantity,
               o.transaction_id AS earlier_txn, d.transaction_id AS later_txn,
               os.code AS earlier_source, ds.code AS later_source,
               o.occurred_at AS earlier_at, d.occurred_at AS later_at,
               loc.code AS location_code, k.code AS sku_code, k.unit_cost
        FROM pairs p
        JOIN inventory_inventoryevent o ON o.id = p.earlier_id
        JOIN inventory_inventoryevent d ON d.id = p.later_id
        JOIN inventory_sourcesystem os ON os.id = o.source_id
        JOIN inventory_sourcesystem ds ON ds.id = d.source_id
        JOIN inventory_location loc ON loc.id = d.location_id
        JOIN inventory_sku k ON k.id = d.sku_id
        ORDER BY p.later_id
        """,
        [_db_time(since), window],
    )
    findings = []
    for row in rows:
        value = _money(abs(row["quantity"]) * _decimal(row["unit_cost"]))
        seconds = abs((_aware(row["later_at"]) - _aware(row["earlier_at"])).total_seconds())
        findings.append(Finding(
            kind=CaseKind.SUSPECTED_DUPLICATE,
            location_id=row["location_id"],
            sku_id=row["sku_id"],
            reference=f"events {row['earlier_id']}+{row['later_id']}",
            severity=max(severity_for_value(value), 3),
            quantity_at_risk=abs(row["quantity"]),
            value_at_risk=value,
            summary=(
                f"{row['type']} of {row['quantity']} {row['sku_code']} at {row['location_code']} posted twice "
                f"{seconds:.0f} s apart: {row['earlier_source']}:{row['earlier_txn']} and "
                f"{row['later_source']}:{row['later_txn']}"
            ),
            details={
                "type": row["type"],
                "quantity": row["quantity"],
                "seconds_apart": seconds,
                "window_s": window,
                "transactions": [
                    f"{row['earlier_source']}:{row['earlier_txn']}", f"{row['later_source']}:{row['later_txn']}"
                ],
            },
            lineage=[("event", row["earlier_id"]), ("event", row["later_id"])],
        ))
    return findings


def negative_stock() -> list[Finding]:
    """Positions whose available is below zero (phantom stock: sales are
    facts and are posted anyway). Severity by the value at risk."""
    findings = []
    positions = Position.objects.filter(available__lt=0).select_related("location", "sku").order_by("id")
    for position in positions:
        short = -position.available
        value = _money(short * position.sku.unit_cost)
        findings.append(Finding(
            kind=CaseKind.NEGATIVE_STOCK,
            location_id=position.location_id,
            sku_id=position.sku_id,
            severity=severity_for_value(value),
            quantity_at_risk=short,
            value_at_risk=value,
            customer_impact="Availability shown to customers and replenishment are wrong for this item.",
            summary=(
                f"POS sold {short} more {position.sku.code} than {position.location.code} had; "
                f"available is {position.available}"
            ),
            details={"available": position.available, "unit_cost": str(position.sku.unit_cost)},
        ))
    return findings


def stale_feed(now=None) -> list[Finding]:
    """Active sources silent longer than their expected interval, or that
    never posted. Severity 1 past four intervals (the tower is blind to that
    feed), else 2."""
    now = now or timezone.now()
    findings = []
    for source in SourceSystem.objects.filter(active=True).order_by("code"):
        # A 32-bit column on PostgreSQL; SQLite keeps whatever the admin took.
        interval = timedelta(seconds=min(source.expected_interval_s, MAX_SMALL_INTEGER))
        if source.last_event_at and source.last_event_at >= now - interval:
            continue
        if source.last_event_at:
            silent = now - source.last_event_at
            summary = f"{source.code} has sent nothing for {_duration(silent)} (expected every {_duration(interval)})"
        else:
            silent = None
            summary = f"{source.code} has never sent an event (expected every {_duration(interval)})"
        findings.append(Finding(
            kind=CaseKind.STALE_FEED,
            location_id=None,
            sku_id=None,
            reference=source.code,
            source_id=source.pk,
            severity=1 if silent is None or silent > 4 * interval else 2,
            summary=summary,
            details={
                "last_event_at": source.last_event_at.isoformat() if source.last_event_at else None,
                "expected_interval_s": source.expected_interval_s,
            },
        ))
    return findings


def _duration(delta):
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def master_data_rejections() -> list[Finding]:
    """Rejected events not yet replayed, one finding per source and cause
    (the first failing field). Severity 2 from 1000 rejections, else 3."""
    groups = (
        RejectedEvent.objects.filter(kind=RejectedEvent.Kind.REJECTED, replayed_at__isnull=True)
        .values("source_id", "source__code", "cause")
        .annotate(count=Count("id"), first_at=Min("received_at"), last_at=Max("received_at"))
        .order_by("source__code", "cause")
    )
    findings = []
    for group in groups:
        ids = (
            RejectedEvent.objects.filter(
                kind=RejectedEvent.Kind.REJECTED, replayed_at__isnull=True,
                source_id=group["source_id"], cause=group["cause"],
            ).order_by("-id").values_list("id", flat=True)[:LINEAGE_LIMIT]
        )
        findings.append(Finding(
            kind=CaseKind.MASTER_DATA_REJECTIONS,
            location_id=None,
            sku_id=None,
            reference=f"{group['source__code']}:{group['cause']}",
            source_id=group["source_id"],
            severity=2 if group["count"] >= 1000 else 3,
            quantity_at_risk=group["count"],
            summary=(
                f"{group['count']} events from {group['source__code']} rejected for '{group['cause']}', "
                "waiting for a master-data fix and a replay"
            ),
            details={
                "rejections": group["count"],
                "first_at": group["first_at"].isoformat(),
                "last_at": group["last_at"].isoformat(),
            },
            lineage=[("rejection", pk) for pk in ids],
        ))
    return findings


def idempotency_conflict() -> list[Finding]:
    """Events refused because their (source, transaction id) was already
    posted with other content: one finding per source and transaction id."""
    conflicts = (
        RejectedEvent.objects.filter(kind=RejectedEvent.Kind.CONFLICT, replayed_at__isnull=True)
        .select_related("source")
        .order_by("id")
    )
    grouped = {}
    for rejection in conflicts:
        grouped.setdefault((rejection.source, rejection.transaction_id), []).append(rejection)
    findings = []
    for (source, transaction_id), rejections in grouped.items():
        first = rejections[0].payload
        findings.append(Finding(
            kind=CaseKind.IDEMPOTENCY_CONFLICT,
            location_id=first.get("location_id"),
            sku_id=first.get("sku_id"),
            reference=f"{source.code}:{transaction_id}",
            source_id=source.pk,
            severity=3,
            summary=(
                f"{source.code} sent transaction {transaction_id} again with different content "
                f"({len(rejections)} time{'s' if len(rejections) > 1 else ''}); the first version stands"
            ),
            details={"conflicts": len(rejections), "last_at": rejections[-1].received_at.isoformat()},
            lineage=[("rejection", r.pk) for r in rejections[-LINEAGE_LIMIT:]],
        ))
    return findings


# --------------------------------------------------------------------------
# Running a kind
# --------------------------------------------------------------------------

KINDS = {
    CaseKind.SNAPSHOT_MISMATCH: snapshot_mismatch,
    CaseKind.FINANCIAL_VARIANCE: financial_variance,
    CaseKind.SALES_POSTING_GAP: sales_posting_gap,
    CaseKind.TRANSFER_NOT_RECEIVED: transfer_not_received,
    CaseKind.RETURN_NOT_DISPOSITIONED: return_not_dispositioned,
    CaseKind.RECEIPT_WITHOUT_PO: receipt_without_po,
    CaseKind.SUSPECTED_DUPLICATE: suspected_duplicate,
    CaseKind.NEGATIVE_STOCK: negative_stock,
    CaseKind.STALE_FEED: stale_feed,
    CaseKind.MASTER_DATA_REJECTIONS: master_data_rejections,
    CaseKind.IDEMPOTENCY_CONFLICT: idempotency_conflict,
}


def _clearable(kind, now):
    """Which open cases of `kind` a run may resolve (None: all of them)."""
    if kind == CaseKind.SALES_POSTING_GAP:
        # Only the days in the window are recomputed; older days keep their cases.
        return {"reference__gte": _sales_gap_window(now)[0].date().isoformat()}
    if kind == CaseKind.SUSPECTED_DUPLICATE:
        # Ledger lines are immutable: a suspected pair never clears by itself.
        return {"pk__in": []}
    return None


def run_reconciliation(kind):
    """Compute one kind and sync its cases; returns the SyncReport."""
    if kind not in KINDS:
        raise ValueError(f"Unknown reconciliation '{kind}'; one of {', '.join(KINDS)}.")
    now = timezone.now()
    return sync_findings(kind, KINDS[kind](), scope=_clearable(kind, now))
