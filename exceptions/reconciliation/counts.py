"""Cycle counts against the record: the latest count of each location x SKU x
state whose variance is beyond its location kind's tolerance
(inventory.counts keeps the variances, right at posting).

One case per location x SKU x state (the reference is the state), about its
latest count. It clears when a later count is within tolerance, or when
late lines that occurred before the count bring its record within
tolerance of what was counted."""
from __future__ import annotations

from controltower.when import when
from inventory.counts import count_tolerance, late_lines
from inventory.models import InventoryEvent

from ..detectors import Detector, register
from ..findings import CaseKind, Finding
from .common import LINEAGE_LIMIT, fetch_rows, local_time, money, plain_number, severity_for_value, to_decimal


def count_variance() -> list[Finding]:
    """The latest count of each counted state (its CountAnchor) that is
    beyond tolerance. Severity by the value of the variance at cost."""
    rows = fetch_rows(
        """
        SELECT v.event_id, v.location_id, v.sku_id, v.state, v.counted_at, v.counted, v.record, v.variance,
               e.source_id, e.transaction_id, src.code AS source_code,
               k.code AS sku_code, k.unit_cost, loc.code AS location_code, loc.kind, loc.timezone
        FROM inventory_countanchor a
        JOIN inventory_countvariance v ON v.event_id = a.event_id
        JOIN inventory_inventoryevent e ON e.id = v.event_id
        JOIN inventory_sourcesystem src ON src.id = e.source_id
        JOIN inventory_sku k ON k.id = v.sku_id
        JOIN inventory_location loc ON loc.id = v.location_id
        WHERE v.within_tolerance = %s
        ORDER BY v.event_id
        """,
        [False],
    )
    counts = InventoryEvent.objects.filter(id__in=[row["event_id"] for row in rows]).only(
        "id", "location_id", "sku_id", "to_state", "occurred_at", "received_at"
    )
    late = late_lines(counts, LINEAGE_LIMIT)
    return [_finding(row, late.get(row["event_id"], [])) for row in rows]


def _units(n):
    return "1 unit" if n == 1 else f"{n} units"


def _finding(row, late):
    variance = row["variance"]
    value = money(abs(variance) * to_decimal(row["unit_cost"]))
    tolerance = count_tolerance(row["kind"])
    at = local_time(row["counted_at"], row["timezone"])
    state = row["state"].replace("_", " ")
    summary = (
        f"{row['source_code']} counted {row['counted']} {state} of {row['sku_code']} at {row['location_code']} "
        f"on {when(at, at.tzinfo)}, the record was {row['record']}: {variance:+d}, beyond the "
        f"{row['kind']} tolerance of {_units(tolerance['units'])} or {plain_number(tolerance['percent'])}%"
    )
    if late:
        lines = "1 line that arrived after the count is" if len(late) == 1 else (
            f"{len(late)} lines that arrived after the count are")
        summary += f" ({lines} in the record)"
    return Finding(
        kind=CaseKind.COUNT_VARIANCE,
        location_id=row["location_id"],
        sku_id=row["sku_id"],
        reference=row["state"],
        source_id=row["source_id"],
        severity=severity_for_value(value),
        quantity_at_risk=abs(variance),
        value_at_risk=value,
        summary=summary,
        details={
            "count": f"{row['source_code']}:{row['transaction_id']}",
            "counted_at": at.isoformat(),
            "state": row["state"],
            "counted": row["counted"],
            "record": row["record"],
            "variance": variance,
            "tolerance": {"units": tolerance["units"], "percent": plain_number(tolerance["percent"])},
            "late_lines": len(late),
        },
        lineage=[("event", row["event_id"]), *(("event", line) for line in late)],
    )


# A person's resolution stands until a later count (new evidence) is still beyond tolerance.
register(Detector(CaseKind.COUNT_VARIANCE, "Cycle count variance", count_variance, every_s=900,
                  evidence="count"))
