"""What a reconciliation job hands to the case service: one Finding per
condition it sees. `services.sync.sync_findings(kind, findings)` turns them into
cases; the fingerprint decides which case a finding belongs to.
"""
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models

from inventory.fields import MAX_VALUE

# Case.quantity_at_risk is a bigint.
MAX_BIGINT = models.BigIntegerField.MAX_BIGINT
# The lengths of Case.reference and Case.customer_impact (exceptions.models).
REFERENCE_LENGTH = 128
IMPACT_LENGTH = 300


def bounded(text, length):
    """`text` in at most `length` characters. A longer one keeps its start and
    ends with "~" and a hash of the whole, so two long keys that differ only
    in their tails (two 128-character transaction ids of one source) stay
    two cases, and the same key gives the same text on every run."""
    if len(text) <= length:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{text[:length - len(digest) - 1]}~{digest}"


class CaseKind:
    """The keys of the case kinds, as the code names them. Each kind is declared
    (its label, finder, schedule, settlement and default routing) by its
    registration in exceptions.detectors, next to its finder."""

    SNAPSHOT_MISMATCH = "snapshot_mismatch"
    FINANCIAL_VARIANCE = "financial_variance"
    SALES_POSTING_GAP = "sales_posting_gap"
    TRANSFER_NOT_RECEIVED = "transfer_not_received"
    RETURN_NOT_DISPOSITIONED = "return_not_dispositioned"
    RECEIPT_WITHOUT_PO = "receipt_without_po"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    NEGATIVE_STOCK = "negative_stock"
    STALE_FEED = "stale_feed"
    MASTER_DATA_REJECTIONS = "master_data_rejections"
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    PROJECTION_DRIFT = "projection_drift"
    BEYOND_RESERVED = "beyond_reserved"
    FULFIL_BEYOND_STAGED = "fulfil_beyond_staged"
    TRANSFER_IN_WITHOUT_OUT = "transfer_in_without_out"
    RESERVATION_NOT_RELEASED = "reservation_not_released"
    COUNT_VARIANCE = "count_variance"
    JOURNEY_STUCK = "journey_stuck"
    PHANTOM_INVENTORY = "phantom_inventory"
    ADJUSTMENT_OUTLIER = "adjustment_outlier"
    REFUND_OUTLIER = "refund_outlier"
    REJECTION_SPIKE = "rejection_spike"


class Drift(models.TextChoices):
    """Why a snapshot-mismatch or financial-variance case differs
    (exceptions.reconciliation.drift); blank on every other kind."""

    TIMING_LAG = "timing_lag", "Timing lag"
    DUPLICATE = "duplicate", "Duplicate"
    MISSING_EVENT = "missing_event", "Missing event"
    UNIT_OF_MEASURE = "unit_of_measure", "Unit-of-measure error"
    COST_MISMATCH = "cost_mismatch", "Cost mismatch"
    UNEXPLAINED = "unexplained", "Unexplained"


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
    drift: str = ""  # a Drift, for snapshot_mismatch and financial_variance

    def __post_init__(self):
        # The one place derived numbers are bounded. Value at risk is computed
        # from quantities x unit cost: MAX_QUANTITY units of a SKU at
        # MAX_UNIT_COST is 1e17, a position or a sum of lines more, while
        # Case.value_at_risk is numeric(14, 2). A value beyond it would fail
        # the insert on PostgreSQL (the reconciliation run) and, stored on
        # SQLite, every page and API list that reads the case. So money stops
        # at MAX_VALUE (severity is decided on the real figure before this),
        # and a quantity at bigint's end. Texts built from keys a source
        # chose ("<source>:<transaction id>" is up to 193 characters) fit
        # their columns (bounded).
        self.reference = bounded(self.reference, REFERENCE_LENGTH)
        self.customer_impact = bounded(self.customer_impact, IMPACT_LENGTH)
        value = Decimal(self.value_at_risk)
        self.value_at_risk = value if value.copy_abs() <= MAX_VALUE else MAX_VALUE.copy_sign(value)
        if abs(self.quantity_at_risk) > MAX_BIGINT:
            self.quantity_at_risk = MAX_BIGINT if self.quantity_at_risk > 0 else -MAX_BIGINT

    @property
    def fingerprint(self) -> str:
        parts = (self.kind, self.location_id, self.sku_id, self.reference)
        return "|".join("" if p is None else str(p) for p in parts)


def duplicate_reference(earlier_id, later_id):
    """A suspected-duplicate case's reference: "events 12+13" (the earlier ledger line first)."""
    return f"events {earlier_id}+{later_id}"


def duplicate_batch_reference(later_ids):
    """A replayed batch's case reference: "batch of events 1001..6000" (its first and last replayed lines)."""
    return f"batch of events {min(later_ids)}..{max(later_ids)}"


def duplicate_pairs(reference, details):
    """[(earlier, later), ...]: the ledger line pairs of a suspected-duplicate
    case, from its reference (one pair) or its details (a batch)."""
    if reference.startswith("batch of events "):
        return [tuple(pair) for pair in (details or {}).get("pairs", [])]
    pair = duplicate_pair(reference)
    return [pair] if pair else []


def duplicate_pair(reference):
    """(earlier, later) ledger line ids from a suspected-duplicate case's
    reference, or None when it names no pair."""
    earlier, plus, later = reference.removeprefix("events ").partition("+")
    if not (plus and earlier.isdigit() and later.isdigit()):
        return None
    return int(earlier), int(later)
