"""A source's snapshots against the ledger as of the snapshot time: quantities
(snapshot_mismatch) and, for the ERP, value at cost (financial_variance).

A snapshot speaks only for what it covers (Snapshot.scope): a `lines`
snapshot for the location x SKU x state lines it lists, a `full` one for
every SKU in every state but in transit at the locations it names, a SKU
it does not list there counting as zero. Each key is compared from the
latest snapshot of each source that covers it (`compared_snapshots`), and
a run resolves only the cases at keys those snapshots cover
(`clearable_cases`, the scope the run gives sync_findings): a one-line
snapshot of one store leaves every other case as it was.

Each finding carries its drift class (timing lag, duplicate, missing event,
unit-of-measure error, cost mismatch or unexplained): `drift.classify`
looks at the mismatched keys of each snapshot once they are found."""
from __future__ import annotations

from dataclasses import dataclass, field

from controltower.when import when
from inventory.ledger import book_sql
from inventory.models import Snapshot, SourceSystem

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from ..models import Case
from .common import (
    config,
    fetch_rows,
    local_time,
    money,
    plain_number,
    severity_for_value,
    to_decimal,
)
from .drift import classify

IN_TRANSIT = "in_transit"  # stock between two locations: a full snapshot speaks for it only where it lists it


@dataclass
class Compared:
    """One snapshot as a run compares it: the location x SKU x state keys it
    covers, less those a later snapshot of its source covers (`later`: their
    ids, `later_full`: the full ones among them)."""

    snapshot: Snapshot
    later: list = field(default_factory=list)
    later_full: list = field(default_factory=list)


def _ids(ids):
    return ", ".join(str(int(i)) for i in ids)


def _shadowed(item, loc, sku, state):
    """SQL: a later snapshot of the same source covers this key: it lists it,
    or it is full and names the location (and the state is not in transit)."""
    clauses = []
    if item.later:
        clauses.append(
            f"EXISTS (SELECT 1 FROM inventory_snapshotline z WHERE z.snapshot_id IN ({_ids(item.later)})"
            f" AND z.location_id = {loc} AND z.sku_id = {sku} AND z.state = {state})"
        )
    if item.later_full:
        clauses.append(
            f"({state} <> '{IN_TRANSIT}' AND EXISTS (SELECT 1 FROM inventory_snapshotline z"
            f" WHERE z.snapshot_id IN ({_ids(item.later_full)}) AND z.location_id = {loc}))"
        )
    return "(" + " OR ".join(clauses) + ")" if clauses else ""


def _named_locations(snapshot_id, alias="l"):
    """SQL: the location {alias} has a line in the snapshot (one index probe per location)."""
    return (
        f"EXISTS (SELECT 1 FROM inventory_snapshotline x WHERE x.snapshot_id = {int(snapshot_id)}"
        f" AND x.location_id = {alias}.id)"
    )


def _snapshot_ctes(item):
    """The CTEs `snap` (the lines compared) and `scope` (the locations whose
    ledger is folded) of one compared snapshot."""
    sid = item.snapshot.pk
    shadowed = _shadowed(item, "s.location_id", "s.sku_id", "s.state")
    scope = _named_locations(sid)
    if item.later:
        # Only the locations something is still compared at.
        still = "l.id IN (SELECT location_id FROM snap)"
        if item.snapshot.scope == Snapshot.Scope.FULL:
            still += (
                f" OR NOT EXISTS (SELECT 1 FROM inventory_snapshotline x"
                f" WHERE x.snapshot_id IN ({_ids(item.later_full) or 'NULL'}) AND x.location_id = l.id)"
            )
        scope += f" AND ({still})"
    return f"""
    snap AS (
        SELECT s.id, s.location_id, s.sku_id, s.state, s.quantity, s.value
        FROM inventory_snapshotline s WHERE s.snapshot_id = {int(sid)}{" AND NOT " + shadowed if shadowed else ""}
    ),
    scope AS (
        SELECT l.id AS location_id FROM inventory_location l WHERE {scope}
    ),
"""


def _in_snapshot_scope(location_column):
    return f" AND {location_column} IN (SELECT location_id FROM scope)", []


def _compared_cte(item):
    """`compared`: each line with the ledger's quantity as of the snapshot
    time; a full snapshot adds, as observed zero, every key with stock in the
    ledger at its locations that it does not list (in transit excepted)."""
    lines = """
        SELECT s.id AS line_id, s.location_id, s.sku_id, s.state, s.quantity, s.value,
               COALESCE(b.quantity, 0) AS expected
        FROM snap s
        LEFT JOIN book b ON b.loc = s.location_id AND b.sku = s.sku_id AND b.state = s.state
    """
    if item.snapshot.scope != Snapshot.Scope.FULL:
        return f", compared AS ({lines})"
    zero_value = "CAST(0 AS DECIMAL(14, 2))" if item.snapshot.kind == Snapshot.Kind.VALUATION else "NULL"
    shadowed = _shadowed(item, "b.loc", "b.sku", "b.state")
    return f""", compared AS ({lines}
        UNION ALL
        SELECT NULL, b.loc, b.sku, b.state, 0, {zero_value}, b.quantity
        FROM book b
        WHERE b.state <> '{IN_TRANSIT}' AND b.quantity <> 0
          AND NOT EXISTS (
              SELECT 1 FROM inventory_snapshotline x WHERE x.snapshot_id = {int(item.snapshot.pk)}
              AND x.location_id = b.loc AND x.sku_id = b.sku AND x.state = b.state
          ){" AND NOT " + shadowed if shadowed else ""}
    )"""


COMPARED_SQL = """
    SELECT s.line_id, s.location_id, s.sku_id, s.state, s.quantity AS observed, s.value,
           s.expected, k.unit_cost, k.code AS sku_code,
           loc.code AS location_code, loc.timezone{extra_columns}
    FROM compared s
    JOIN inventory_sku k ON k.id = s.sku_id
    JOIN inventory_location loc ON loc.id = s.location_id
    {extra_joins}
    WHERE {condition}
"""


def compared_snapshots(source_kinds=None) -> list[Compared]:
    """The snapshots a run compares: for each location x SKU x state, the
    latest snapshot (by as_of, then arrival) of each active source that
    covers it. A `lines` snapshot covers the lines it lists, a `full` one
    every SKU and state but in transit of the locations it names (and the
    in-transit lines it lists). A snapshot every key of which a later one
    covers is left out."""
    # A superseded observation is covered by the newer one that replaced it.
    snapshots = Snapshot.objects.filter(source__active=True).exclude(status=Snapshot.Status.SUPERSEDED)
    snapshots = snapshots.select_related("source")
    if source_kinds:
        snapshots = snapshots.filter(source__kind__in=source_kinds)
    picked, newer = [], {}
    for snapshot in snapshots.order_by("source__code", "-as_of", "-id"):
        later = newer.setdefault(snapshot.source_id, [])
        item = Compared(snapshot, [s.pk for s in later], [s.pk for s in later if s.scope == Snapshot.Scope.FULL])
        if not later or _still_speaks(item):
            picked.append(item)
        later.append(snapshot)
    return picked


def _still_speaks(item):
    """Does `item` cover a key no later snapshot of its source covers?"""
    sid = int(item.snapshot.pk)
    sql = (
        f"SELECT 1 FROM inventory_snapshotline s WHERE s.snapshot_id = {sid}"
        f" AND NOT {_shadowed(item, 's.location_id', 's.sku_id', 's.state')}"
    )
    if item.snapshot.scope == Snapshot.Scope.FULL:
        sql = (
            f"{sql} UNION ALL SELECT 1 FROM inventory_location l WHERE {_named_locations(sid)}"
            f" AND NOT EXISTS (SELECT 1 FROM inventory_snapshotline x"
            f" WHERE x.snapshot_id IN ({_ids(item.later_full) or 'NULL'}) AND x.location_id = l.id)"
        )
    return bool(fetch_rows(f"SELECT EXISTS ({sql}) AS speaks", [])[0]["speaks"])


def covered_cases(kind, compared) -> list[int]:
    """The active cases of `kind` that the compared snapshots speak for: the
    ones a run may resolve when it does not find them again. A case's key
    is its location, SKU and reference (source code:state); a case of a
    source with no compared snapshot, or at a key none of them covers, is
    left as it is."""
    by_source = {}
    for item in compared:
        by_source.setdefault(item.snapshot.source, []).append(item.snapshot)
    ids = []
    for source, snapshots in by_source.items():
        full = [s.pk for s in snapshots if s.scope == Snapshot.Scope.FULL]
        covered = (
            f"EXISTS (SELECT 1 FROM inventory_snapshotline x WHERE x.snapshot_id IN ({_ids(s.pk for s in snapshots)})"
            f" AND x.location_id = c.location_id AND x.sku_id = c.sku_id AND c.reference = %s || x.state)"
        )
        params = [f"{source.code}:"]
        if full:
            covered += (
                f" OR (c.reference <> %s AND EXISTS (SELECT 1 FROM inventory_snapshotline x"
                f" WHERE x.snapshot_id IN ({_ids(full)}) AND x.location_id = c.location_id))"
            )
            params.append(f"{source.code}:{IN_TRANSIT}")
        statuses = ", ".join(["%s"] * len(Case.ACTIVE))
        rows = fetch_rows(
            f"SELECT c.id FROM {Case._meta.db_table} c WHERE c.kind = %s AND c.source_id = %s"
            f" AND c.status IN ({statuses}) AND ({covered})",
            [kind, source.pk, *Case.ACTIVE, *params],
        )
        ids += [row["id"] for row in rows]
    return ids


def clearable_cases(kind) -> list[int]:
    """The cases of a snapshot kind (snapshot_mismatch, financial_variance)
    that a run may resolve: exceptions.reconciliation passes them to
    sync_findings as its scope, read before the findings are computed."""
    source_kinds = [SourceSystem.Kind.ERP] if kind == CaseKind.FINANCIAL_VARIANCE else None
    return covered_cases(kind, compared_snapshots(source_kinds))


def _compare_snapshot(item, condition, *, ctes="", cte_params=(), condition_params=(), columns="", joins=""):
    """Rows of the snapshot's compared keys, with the ledger quantity as of
    its time (`expected`), that meet `condition` (s = compared row:
    quantity, value, expected; k = SKU, loc = location)."""
    if isinstance(item, Snapshot):
        item = Compared(item)
    book, book_params = book_sql(as_of=item.snapshot.as_of, leg_scope=_in_snapshot_scope)
    sql = "WITH " + ctes + _snapshot_ctes(item) + book + _compared_cte(item) + COMPARED_SQL.format(
        extra_columns=columns, extra_joins=joins, condition=condition
    )
    return fetch_rows(sql, [*cte_params, *book_params, *condition_params])


def snapshot_mismatch() -> list[Finding]:
    """For each location x SKU x state, the latest snapshot of each source
    that covers it vs the ledger as of the snapshot time."""
    return [finding for item in compared_snapshots() for finding in mismatches_in(item)]


def mismatches_in(snapshot) -> list[Finding]:
    """The lines of one snapshot (a Snapshot, compared as its source's
    latest, or a Compared) that differ from the ledger as of its time.

    A line is a mismatch when the difference is beyond the tolerance of its
    location kind in units, and in percent of the ledger quantity, and in
    value at cost: a difference small by any one measure is tolerated. A
    `lines` snapshot compares the lines the source sent; a `full` one also
    the SKUs with ledger stock at its locations that it does not list, as
    zero."""
    item = snapshot if isinstance(snapshot, Compared) else Compared(snapshot)
    tolerances = config("snapshot_tolerance")
    row = "(%s, CAST(%s AS DECIMAL(14, 4)), CAST(%s AS DECIMAL(14, 4)), CAST(%s AS DECIMAL(14, 4)))"
    ctes = f"tol(kind, units, percent, value) AS (VALUES {', '.join([row] * len(tolerances))}),"
    cte_params = [v for kind, t in tolerances.items() for v in (kind, t["units"], t["percent"], t["value"])]
    difference = "ABS(CAST(s.quantity AS DECIMAL(20, 0)) - s.expected)"
    condition = (
        f"{difference} > tol.units"
        f" AND {difference} * 100 > tol.percent * ABS(s.expected)"
        f" AND {difference} * k.unit_cost > tol.value"
    )
    rows = _compare_snapshot(
        item, condition, ctes=ctes, cte_params=cte_params,
        columns=", tol.units AS tol_units, tol.percent AS tol_percent, tol.value AS tol_value",
        joins="JOIN tol ON tol.kind = loc.kind",
    )
    return classify(item.snapshot, [_mismatch_finding(item.snapshot, row) for row in rows])


def _lineage(row):
    # A key a full snapshot does not list has no line: the details name the snapshot.
    return [("snapshot_line", row["line_id"])] if row["line_id"] is not None else []


def _observed(row):
    return row["observed"] if row["line_id"] is not None else f"{row['observed']} (not listed in a full snapshot)"


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
            f"{source.code} says {_observed(row)} {row['state']} of {row['sku_code']} at "
            f"{row['location_code']}, the ledger says {row['expected']} as of {when(at, at.tzinfo)}"
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
        lineage=_lineage(row),
    )


def financial_variance() -> list[Finding]:
    """ERP snapshot value vs the ledger quantity x SKU unit cost, as of the
    snapshot time, beyond the financial tolerance (value and percent); or,
    when the ERP and the ledger agree on the quantity, beyond its
    cost_percent (and a cent, the ERP's rounding) whatever the value: the
    two value the SKU at different unit costs, a master-data difference
    that misvalues every position of it and every margin (a cost change
    one of them never got), however cheap one position is."""
    tolerance = config("financial_tolerance")
    book_value = "s.expected * k.unit_cost"
    difference = f"ABS(s.value - {book_value})"
    condition = (
        f"s.value IS NOT NULL AND (({difference} > CAST(%s AS DECIMAL(14, 2))"
        f" AND {difference} * 100 > CAST(%s AS DECIMAL(14, 4)) * ABS({book_value}))"
        f" OR (s.quantity = s.expected AND {difference} > 0.01"
        f" AND {difference} * 100 > CAST(%s AS DECIMAL(14, 4)) * ABS({book_value})))"
    )
    findings = []
    for item in compared_snapshots(source_kinds=[SourceSystem.Kind.ERP]):
        rows = _compare_snapshot(
            item, condition,
            condition_params=[tolerance["value"], tolerance["percent"], tolerance["cost_percent"]],
        )
        findings += classify(item.snapshot, [_financial_finding(item.snapshot, row, tolerance) for row in rows])
    return findings


def _financial_finding(snapshot, row, tolerance):
    source = snapshot.source
    unit_cost = to_decimal(row["unit_cost"])
    book_value = money(row["expected"] * unit_cost)
    erp_value = money(to_decimal(row["value"]))
    difference = erp_value - book_value
    # The same quantity: the difference is the unit cost's (to the tower's decimals).
    erp_unit_cost = (to_decimal(row["value"]) / row["expected"]).quantize(unit_cost) if (
        row["observed"] == row["expected"] and row["expected"]) else None
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
            f"as of {when(at, at.tzinfo)}"
            + (f": the same quantity at a unit cost of {erp_unit_cost} against the tower's {unit_cost}"
               if erp_unit_cost is not None else "")
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
            **({"erp_unit_cost": str(erp_unit_cost)} if erp_unit_cost is not None else {}),
            "tolerance": dict(tolerance),
        },
        lineage=_lineage(row),
    )


# A snapshot speaks only for the keys it covers: a run resolves no case elsewhere.
register(Detector(
    CaseKind.SNAPSHOT_MISMATCH, "Snapshot mismatch", snapshot_mismatch, every_s=900,
    clearable=lambda now, since: {"pk__in": clearable_cases(CaseKind.SNAPSHOT_MISMATCH)},
    evidence="snapshot", routes=(Route("PLANNING"),),
))
register(Detector(
    CaseKind.FINANCIAL_VARIANCE, "Operational vs financial variance", financial_variance, every_s=3600,
    clearable=lambda now, since: {"pk__in": clearable_cases(CaseKind.FINANCIAL_VARIANCE)},
    evidence="snapshot", routes=(Route("FINANCE"),),
))
