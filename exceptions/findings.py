"""What a reconciliation job hands to the case service: one Finding per
condition it sees. `services.sync_findings(kind, findings)` turns them into
cases; the fingerprint decides which case a finding belongs to.
"""
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models


class CaseKind(models.TextChoices):
    SNAPSHOT_MISMATCH = "snapshot_mismatch", "Snapshot mismatch"
    FINANCIAL_VARIANCE = "financial_variance", "Operational vs financial variance"
    SALES_POSTING_GAP = "sales_posting_gap", "Sales posting gap"
    TRANSFER_NOT_RECEIVED = "transfer_not_received", "Transfer not received"
    RETURN_NOT_DISPOSITIONED = "return_not_dispositioned", "Return not dispositioned"
    RECEIPT_WITHOUT_PO = "receipt_without_po", "Receipt without a PO line"
    SUSPECTED_DUPLICATE = "suspected_duplicate", "Suspected duplicate"
    NEGATIVE_STOCK = "negative_stock", "Negative stock"
    STALE_FEED = "stale_feed", "Stale feed"
    MASTER_DATA_REJECTIONS = "master_data_rejections", "Master-data rejections"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict", "Idempotency conflict"


@dataclass
class Finding:
    kind: str
    location_id: int | None
    sku_id: int | None
    reference: str = ""  # PO, transfer id, day "2026-11-20", source code, cause
    source_id: int | None = None
    severity: int = 3  # 1 highest .. 4
    quantity_at_risk: int = 0
    value_at_risk: Decimal = Decimal("0")
    customer_impact: str = ""
    summary: str = ""
    details: dict = field(default_factory=dict)  # expected, observed, tolerance, baseline, score...
    lineage: list = field(default_factory=list)  # [("event", id), ("snapshot_line", id), ...]

    @property
    def fingerprint(self) -> str:
        parts = (self.kind, self.location_id, self.sku_id, self.reference)
        return "|".join("" if p is None else str(p) for p in parts)
