"""A source's snapshot against the ledger as of the snapshot time: quantities
(snapshot_mismatch) and, for the ERP, value at cost (financial_variance)."""
from __future__ import annotations

from django.db.models import OuterRef, Subquery

from inventory.ledger import book_sql
from inventory.models import Snapshot, SourceSystem

from ..findings import CaseKind, Finding
from .common import (
    config,
    fetch_rows,
    local_time,
    money,
    plain_number,
    severity_for_value,
    to_decimal,
)

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
    return fetch_rows(sql, [*cte_params, snapshot.pk, snapshot.pk, *book_params, *condition_params])


def snapshot_mismatch() -> list[Finding]:
    """Each source's latest snapshot vs the ledger as of the snapshot time."""
    return [finding for snapshot in _latest_snapshots() for finding in mismatches_in(snapshot)]


def mismatches_in(snapshot) -> list[Finding]:
    """The lines of one snapshot that differ from the ledger as of its time.

    A line is a mismatch when the difference is beyond the tolerance of its
    location kind in units, and in percent of the ledger quantity, and in
    value at cost: a difference small by any one measure is tolerated. Only
    the lines the source sent are compared."""
    tolerances = config("snapshot_tolerance")
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
    value = money(abs(difference) * to_decimal(row["unit_cost"]))
    at = local_time(snapshot.as_of, row["timezone"])
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
                "units": plain_number(row["tol_units"]),
                "percent": plain_number(row["tol_percent"]),
                "value": str(money(to_decimal(row["tol_value"]))),
            },
        },
        lineage=[("snapshot_line", row["line_id"])],
    )


def financial_variance() -> list[Finding]:
    """ERP snapshot value vs the ledger quantity x SKU unit cost, as of the
    snapshot time, beyond the financial tolerance (value and percent)."""
    tolerance = config("financial_tolerance")
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
    unit_cost = to_decimal(row["unit_cost"])
    book_value = money(row["expected"] * unit_cost)
    erp_value = money(to_decimal(row["value"]))
    difference = erp_value - book_value
    at = local_time(snapshot.as_of, row["timezone"])
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
            f"the ledger's {row['expected']} x {money(unit_cost)} is {book_value} "
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
