"""Celery tasks `reconcile.<kind>`: thin callers of run_kind, one per
registered kind (exceptions.detectors; their entries in beat's schedule
are added when the app is ready, exceptions.apps).

Each run is bounded and alone (exceptions.reconciliation.runs): a second
one while a run of its kind goes on ends at once, recorded as skipped; a
redelivery after a worker died (acks_late) runs the kind again, which
converges on the same cases.
"""
from controltower.tasks import tower_task

from .detectors import DETECTORS
from .reconciliation.runs import SOFT_TIME_LIMIT_S, TIME_LIMIT_S, run_kind


def _make_task(kind):
    @tower_task(f"reconcile.{kind}", soft_time_limit=SOFT_TIME_LIMIT_S, time_limit=TIME_LIMIT_S)
    def reconcile():
        run = run_kind(kind)
        return {"outcome": run.outcome, **run.counts, **({"error": run.error} if run.error else {})}

    return reconcile


tasks = {kind: _make_task(kind) for kind in DETECTORS}
