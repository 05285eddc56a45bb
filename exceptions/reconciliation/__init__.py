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

from django.utils import timezone

from inventory.models import InventoryEvent, RejectedEvent

from ..findings import CaseKind
from ..services.sync import sync_findings
from .common import severity_for_value
from .counts import count_variance
from .feeds import clearable_conflicts, idempotency_conflict, master_data_rejections, stale_feed
from .journeys import journey_stuck
from .movements import (
    receipt_without_po,
    return_not_dispositioned,
    transfer_not_received,
)
from .projection import projection_drift
from .reservations import release_expired, reservation_not_released
from .sales import sales_gap_window, sales_posting_gap
from .snapshots import (
    clearable_cases,
    financial_variance,
    mismatches_in,
    snapshot_mismatch,
)
from .stock import clearable_duplicates, negative_stock, suspected_duplicate
from .unmatched import (
    beyond_reserved,
    clearable_movement_cases,
    fulfil_beyond_staged,
    transfer_in_without_out,
)

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
    CaseKind.PROJECTION_DRIFT: projection_drift,
    CaseKind.COUNT_VARIANCE: count_variance,
    CaseKind.BEYOND_RESERVED: beyond_reserved,
    CaseKind.FULFIL_BEYOND_STAGED: fulfil_beyond_staged,
    CaseKind.TRANSFER_IN_WITHOUT_OUT: transfer_in_without_out,
    CaseKind.RESERVATION_NOT_RELEASED: reservation_not_released,
    CaseKind.JOURNEY_STUCK: journey_stuck,
}


def _clearable(kind, now, since):
    """Which open cases of `kind` a run may resolve (None: all of them)."""
    if kind == CaseKind.SALES_POSTING_GAP:
        # Only the days in the window are recomputed; older days keep their cases.
        return {"reference__gte": sales_gap_window(now)[0].date().isoformat()}
    if kind == CaseKind.SUSPECTED_DUPLICATE:
        # Pairs a person settled, and pairs still inside the look-back; older ones keep their cases.
        return {"pk__in": clearable_duplicates(now, since)}
    if kind == CaseKind.IDEMPOTENCY_CONFLICT and since is not None:
        # Keys with no conflict waiting any more; the others are found again only when they grow.
        return {"pk__in": clearable_conflicts()}
    if kind in (CaseKind.SNAPSHOT_MISMATCH, CaseKind.FINANCIAL_VARIANCE):
        # A snapshot speaks only for the keys it covers: cases elsewhere stay as they are.
        return {"pk__in": clearable_cases(kind)}
    if kind in (CaseKind.BEYOND_RESERVED, CaseKind.FULFIL_BEYOND_STAGED):
        # Only the events of the look-back window are judged again.
        return {"pk__in": clearable_movement_cases(kind, now)}
    return None


# The kinds whose findings depend on the time (an SLA passed, a window of
# days); the others compare what the systems hold now.
TIMED = {
    CaseKind.SALES_POSTING_GAP, CaseKind.TRANSFER_NOT_RECEIVED, CaseKind.RETURN_NOT_DISPOSITIONED,
    CaseKind.SUSPECTED_DUPLICATE, CaseKind.STALE_FEED, CaseKind.BEYOND_RESERVED,
    CaseKind.FULFIL_BEYOND_STAGED, CaseKind.TRANSFER_IN_WITHOUT_OUT, CaseKind.RESERVATION_NOT_RELEASED,
    CaseKind.JOURNEY_STUCK,
}


# The kinds that can look at the rows after a watermark only (the id of the
# last row of this table a run looked at: exceptions.reconciliation.runs
# keeps it); the others look at everything.
INCREMENTAL = {CaseKind.SUSPECTED_DUPLICATE: InventoryEvent, CaseKind.IDEMPOTENCY_CONFLICT: RejectedEvent}


def find(kind, now, since=None):
    """The findings of one kind as of `now` (of what arrived from `since` on, for an incremental kind)."""
    if kind in INCREMENTAL:
        return KINDS[kind](now=now, since=since)
    return KINDS[kind](now=now) if kind in TIMED else KINDS[kind]()


def run_reconciliation(kind, now=None, since=None):
    """Compute one kind and sync its cases; returns the SyncReport. `now`
    (default: the clock) is when the run happens: the demo replays its
    history with the tower's nightly runs. `since` (an incremental kind's
    watermark) limits the run to what was received from then on; None
    looks at the kind's whole look-back."""
    if kind not in KINDS:
        raise ValueError(f"Unknown reconciliation '{kind}'; one of {', '.join(KINDS)}.")
    now = now or timezone.now()
    # The scope first: a snapshot arriving meanwhile only adds findings, never
    # lets a case it was not compared for be cleared.
    scope = _clearable(kind, now, since)
    report = sync_findings(kind, find(kind, now, since), scope=scope, now=now)
    if kind == CaseKind.RESERVATION_NOT_RELEASED and release_expired(now):
        # The tower released the expired holds of sources that ask it to: their cases clear now.
        report.resolved += sync_findings(kind, find(kind, now), scope=scope, now=now).resolved
    return report


__all__ = [
    "KINDS",
    "beyond_reserved",
    "count_variance",
    "financial_variance",
    "fulfil_beyond_staged",
    "idempotency_conflict",
    "journey_stuck",
    "master_data_rejections",
    "mismatches_in",
    "negative_stock",
    "projection_drift",
    "receipt_without_po",
    "release_expired",
    "reservation_not_released",
    "return_not_dispositioned",
    "run_reconciliation",
    "sales_posting_gap",
    "severity_for_value",
    "snapshot_mismatch",
    "stale_feed",
    "suspected_duplicate",
    "transfer_in_without_out",
    "transfer_not_received",
]
