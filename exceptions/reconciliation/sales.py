"""POS sales against the ERP's sales postings, per store-local day."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from zoneinfo import ZoneInfo

from django.utils import timezone

from controltower.db import db_time, local_day_sql
from controltower.when import day as day_words

from ..detectors import Detector, Route, register
from ..findings import CaseKind, Finding
from .common import (
    config,
    fetch_rows,
    money,
    severity_for_value,
    to_decimal,
)


def sales_gap_window(now):
    """The last N whole days before today (UTC); a store's own today, still
    going, is never compared."""
    end = datetime.combine(now.astimezone(dt_timezone.utc).date(), time(), tzinfo=dt_timezone.utc)
    return end - timedelta(days=config("sales_gap_days")), end


def sales_posting_gap(now=None) -> list[Finding]:
    """POS sales vs the ERP's sales postings (`sales_posting` events, which
    move no stock) per location and store day.

    Only locations with postings in the window are compared (a store not yet
    on the ERP has nothing to post), and only from their go-live date: the
    days before it, on the legacy systems, the ERP never posts."""
    now = now or timezone.now()
    start, end = sales_gap_window(now)
    day = local_day_sql("e.occurred_at", "loc.timezone")
    # A day wider on each side in UTC: a store day may start or end there.
    around = "e.occurred_at >= %s AND e.occurred_at < %s"
    params = [db_time(start - timedelta(days=1)), db_time(end + timedelta(days=1))]
    # A reversal (a confirmed duplicate undone from its case) counts as the
    # line it reverses, its quantity negated: a reversed POS sale or ERP
    # posting leaves the totals.
    kind = "COALESCE(r.type, e.type)"
    pos_sale = f"({kind} = 'sale' AND COALESCE(rs.kind, s.kind) = 'pos')"
    rows = fetch_rows(
        f"""
        SELECT e.location_id, {day} AS day, loc.code AS location_code, loc.timezone AS timezone,
               loc.go_live_date AS go_live_date,
               CAST(SUM(CASE WHEN {kind} = 'sale' THEN e.quantity ELSE 0 END) AS BIGINT) AS pos_quantity,
               CAST(SUM(CASE WHEN {kind} = 'sales_posting' THEN e.quantity ELSE 0 END) AS BIGINT) AS erp_quantity,
               SUM(CASE WHEN {kind} = 'sale' THEN e.quantity ELSE -e.quantity END * k.unit_cost) AS value_gap
        FROM inventory_inventoryevent e
        JOIN inventory_sourcesystem s ON s.id = e.source_id
        JOIN inventory_sku k ON k.id = e.sku_id
        JOIN inventory_location loc ON loc.id = e.location_id
        LEFT JOIN exceptions_duplicateverdict v ON e.type = 'reversal' AND v.reversal_id = e.id
        LEFT JOIN inventory_inventoryevent r ON r.id = v.later_event_id
        LEFT JOIN inventory_sourcesystem rs ON rs.id = r.source_id
        WHERE {around} AND ({pos_sale} OR {kind} = 'sales_posting')
          AND e.location_id IN (
              SELECT e.location_id FROM inventory_inventoryevent e
              WHERE {around} AND e.type = 'sales_posting'
          )
        GROUP BY e.location_id, {day}, loc.code, loc.timezone, loc.go_live_date
        HAVING SUM(CASE WHEN {kind} = 'sale' THEN e.quantity ELSE -e.quantity END) <> 0
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
        go_live = row["go_live_date"]
        if go_live is not None and store_day < (go_live if isinstance(go_live, date) else date.fromisoformat(go_live)):
            continue
        gap = row["pos_quantity"] - row["erp_quantity"]
        value = money(abs(to_decimal(row["value_gap"])))
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
                f"POS sold {row['pos_quantity']} at {row['location_code']} on {day_words(store_day)}, "
                f"the ERP posted {row['erp_quantity']}"
            ),
            details={"day": day_text, "pos_quantity": row["pos_quantity"], "erp_quantity": row["erp_quantity"]},
        ))
    return findings


register(Detector(
    CaseKind.SALES_POSTING_GAP, "Sales posting gap", sales_posting_gap, every_s=3600, timed=True,
    # Only the days in the window are recomputed; older days keep their cases.
    clearable=lambda now, since: {"reference__gte": sales_gap_window(now)[0].date().isoformat()},
    routes=(Route("FINANCE"),),
))
