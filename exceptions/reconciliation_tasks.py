"""Celery tasks `reconcile.<kind>`: thin callers of run_kind, one per
registered kind (exceptions.detectors), and their entries in beat's schedule.

Each run is bounded and alone (exceptions.reconciliation.runs): a second
one while a run of its kind goes on ends at once, recorded as skipped; a
redelivery after a worker died (acks_late) runs the kind again, which
converges on the same cases.
"""
from celery import current_app

from controltower.tasks import tower_task

from .detectors import DETECTORS, beat_schedule
from .reconciliation.runs import SOFT_TIME_LIMIT_S, TIME_LIMIT_S, run_kind


def _make_task(kind):
    @tower_task(f"reconcile.{kind}", soft_time_limit=SOFT_TIME_LIMIT_S, time_limit=TIME_LIMIT_S)
    def reconcile():
        run = run_kind(kind)
        return {"outcome": run.outcome, **run.counts, **({"error": run.error} if run.error else {})}

    return reconcile


tasks = {kind: _make_task(kind) for kind in DETECTORS}

# Beat imports this module (controltower.celery autodiscovers it) before
# django-celery-beat's DatabaseScheduler writes app.conf.beat_schedule, the
# entries of settings.CELERY_BEAT_SCHEDULE and these, to its tables.
current_app.conf.beat_schedule = {**current_app.conf.beat_schedule, **beat_schedule()}
