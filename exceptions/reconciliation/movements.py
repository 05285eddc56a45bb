"""Stock on its way: transfers not received, returns not dispositioned,
receipts without an open PO line."""
from __future__ import annotations

from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from controltower.db import db_time
from inventory.models import Transfer

from ..detectors import Detector, register
from ..findings import CaseKind, Finding
from .common import (
    LINEAGE_LIMIT,
    config,
    fetch_rows,
    money,
    severity_for_value,
    to_decimal,
)


def transfer_not_received(now=None) -> list[Finding]:
    """Shipped more than received, and shipped longer ago than the transfer SLA."""
    sla_hours = config("transfer_sla_hours")
    cutoff = (now or timezone.now()) - timedelta(hours=sla_hours)
    transfers = (
        Transfer.objects.filter(quantity_shipped__gt=F("quantity_received"), shipped_at__lt=cutoff)
        .select_related("sku", "from_location", "to_location")
        .order_by("id")
    )
    findings = []
    for transfer in transfers:
        missing = transfer.quantity_shipped - transfer.quantity_received
        value = money(missing * transfer.sku.unit_cost)
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
    sla_hours = config("return_sla_hours")
    cutoff = (now or timezone.now()) - timedelta(hours=sla_hours)
    rows = fetch_rows(
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
        [db_time(cutoff)],
    )
    findings = []
    for row in rows:
        overdue = row["returned"] - row["recent"]
        value = money(overdue * to_decimal(row["unit_cost"]))
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
    rows = fetch_rows(
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
        value = money(row["quantity"] * to_decimal(row["unit_cost"]))
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
        for row in fetch_rows(
            "SELECT e.location_id, e.sku_id, e.reference, e.id FROM inventory_inventoryevent e "
            f"WHERE e.type = 'receipt' AND (e.location_id, e.sku_id, e.reference) IN (VALUES {values}) "
            "ORDER BY e.id",
            [v for key in chunk for v in key],
        ):
            ids = found.setdefault((row["location_id"], row["sku_id"], row["reference"]), [])
            if len(ids) < LINEAGE_LIMIT:
                ids.append(row["id"])
    return found


register(Detector(CaseKind.TRANSFER_NOT_RECEIVED, "Transfer not received", transfer_not_received,
                  every_s=900, timed=True))
register(Detector(CaseKind.RETURN_NOT_DISPOSITIONED, "Return not dispositioned", return_not_dispositioned,
                  every_s=900, timed=True))
# A receipt without its PO line happened: it never clears by itself.
register(Detector(CaseKind.RECEIPT_WITHOUT_PO, "Receipt without a PO line", receipt_without_po,
                  every_s=900, settled_by_a_person=True))
