"""Celery tasks `reconcile.<kind>`: thin callers of run_reconciliation.

Safe to run twice or at once, and to redeliver after a worker dies
(acks_late): sync_findings settles each kind under a per-kind lock.
"""
from controltower.tasks import tower_task

from .reconciliation import KINDS, run_reconciliation


def _make_task(kind):
    @tower_task(f"reconcile.{kind}", soft_time_limit=300, time_limit=360)
    def reconcile():
        return run_reconciliation(kind).as_dict()

    return reconcile


tasks = {kind: _make_task(kind) for kind in KINDS}
