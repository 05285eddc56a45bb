"""Reconciliation: compare what the systems say and hand the differences to the
case service.

One plain function per case kind returns list[Finding]; each is one
set-based query (PostgreSQL and SQLite), so the database does the work and
Python only words the findings. `run_reconciliation(kind)` computes a kind
and syncs its cases (exceptions.services.sync_findings): a finding opens or
refreshes the case with its fingerprint, a case whose condition is gone is
resolved. Running a kind twice, at once, or again after a crash gives the
same set of open cases.

Each kind is declared once, next to its finder, by its registration
(exceptions.detectors.Detector): its schedule, which open cases a run may
clear, whether it depends on the time or is incremental, how a person
settles its cases, its default routing. Adding a kind is one module here
and its registration, imported below.

Severity: 1 highest .. 4. Money at risk decides where there is money
(`severity_for_value`, thresholds in settings.RECONCILIATION); other kinds
say why in their function.
"""
from __future__ import annotations

from django.utils import timezone

from ..detectors import DETECTORS
from ..services.sync import sync_findings
from .common import severity_for_value

# The modules of the finders, in the order their kinds run and are listed:
# each registers its kinds (exceptions.detectors) when imported.
from .snapshots import financial_variance, mismatches_in, snapshot_mismatch
from .sales import sales_posting_gap
from .movements import receipt_without_po, return_not_dispositioned, transfer_not_received
from .stock import negative_stock, suspected_duplicate
from .feeds import idempotency_conflict, master_data_rejections, stale_feed
from .projection import projection_drift
from .counts import count_variance
from .unmatched import beyond_reserved, fulfil_beyond_staged, transfer_in_without_out
from .reservations import release_expired, reservation_not_released
from .journeys import journey_stuck
from .phantom import phantom_inventory
from .outliers import adjustment_outlier, refund_outlier
from .spikes import rejection_spike


def find(kind, now, since=None):
    """The findings of one kind as of `now` (of what arrived from `since` on, for an incremental kind)."""
    detector = DETECTORS[kind]
    if detector.incremental:
        return detector.find(now=now, since=since)
    return detector.find(now=now) if detector.timed else detector.find()


def run_reconciliation(kind, now=None, since=None):
    """Compute one kind and sync its cases; returns the SyncReport. `now`
    (default: the clock) is when the run happens: the demo replays its
    history with the tower's nightly runs. `since` (an incremental kind's
    watermark) limits the run to what was received from then on; None
    looks at the kind's whole look-back."""
    if kind not in DETECTORS:
        raise ValueError(f"Unknown reconciliation '{kind}'; one of {', '.join(DETECTORS)}.")
    detector = DETECTORS[kind]
    now = now or timezone.now()
    # The scope first: a snapshot arriving meanwhile only adds findings, never
    # lets a case it was not compared for be cleared.
    scope = detector.clearable(now, since) if detector.clearable else None
    report = sync_findings(kind, find(kind, now, since), scope=scope, now=now)
    if detector.afterwards and detector.afterwards(now):
        report.resolved += sync_findings(kind, find(kind, now), scope=scope, now=now).resolved
    return report


__all__ = [
    "adjustment_outlier",
    "beyond_reserved",
    "count_variance",
    "financial_variance",
    "fulfil_beyond_staged",
    "idempotency_conflict",
    "journey_stuck",
    "master_data_rejections",
    "mismatches_in",
    "negative_stock",
    "phantom_inventory",
    "projection_drift",
    "receipt_without_po",
    "refund_outlier",
    "rejection_spike",
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
