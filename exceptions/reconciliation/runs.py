"""One run of one reconciliation kind, bounded and alone, and its record.

`run_kind(kind)` is how beat's tasks (exceptions.reconciliation_tasks) and
`manage.py reconcile` run a kind:
- one run of a kind at a time: a PostgreSQL advisory lock held for the run
  (try-lock: a second run ends at once, recorded as skipped); on SQLite the
  running row itself, checked and written under the write lock;
- bounded: no query of the run outlives its budget (BUDGET_S, below the
  task's soft time limit): on PostgreSQL the run is one transaction whose
  `statement_timeout` is set to the time left as it goes; on SQLite (no
  statement timeout) the run stops at its next query past the budget;
- incremental where the kind reads the rows received in a window
  (its Detector.incremental): after the watermark of the kind's last good run;
- recorded: a ReconciliationRun says how it ended (ok, failed, timed out,
  skipped), what it changed, the error; a run whose worker died is found
  still running by the next run and recorded as failed. Nothing raises out
  of it: one kind failing never stops another.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager, nullcontext
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone

from controltower.locks import try_hold

from ..detectors import DETECTORS
from ..models import ReconciliationRun
from . import run_reconciliation

log = logging.getLogger("exceptions.reconciliation")

Outcome = ReconciliationRun.Outcome

# The Celery limits of a reconcile task, and the run's own budget inside them
# (time left to record how it ended before the soft limit strikes).
SOFT_TIME_LIMIT_S = 300
TIME_LIMIT_S = 360
BUDGET_S = SOFT_TIME_LIMIT_S - 30

# An incremental kind's watermark is the newest row received this long
# before its run: a row committed late (ingest is a short transaction) is still seen.
WATERMARK_MARGIN = timedelta(minutes=1)

RUN_RETENTION = timedelta(days=7)

# Reset the statement timeout to the time left when it has shrunk by this much.
TIMEOUT_STEP_S = 5


class RunTimedOut(Exception):
    pass


def run_kind(kind, now=None, budget_s=BUDGET_S) -> ReconciliationRun:
    """Run `kind` once, alone and within `budget_s` seconds; returns its record."""
    with try_hold(f"reconcile:{kind}") as held:
        run = _begin(kind, held)
        if run.outcome == Outcome.SKIPPED:
            log.warning("reconcile %s skipped: a run of it is already going", kind)
            return run
        since = watermark = None
        try:
            since = _since(kind)
            watermark = _next_watermark(kind, since, run.started_at)
            with _bounded(budget_s, repeatable_read=DETECTORS[kind].one_snapshot):
                report = run_reconciliation(kind, now=now, since=since)
        except (RunTimedOut, SoftTimeLimitExceeded) as error:
            _timed_out(run, since, watermark, f"Stopped after its budget of {budget_s} s ({error or 'time limit'}).")
        except DatabaseError as error:
            if getattr(error.__cause__, "sqlstate", None) == "57014":  # query_canceled: the statement timeout
                _timed_out(run, since, watermark, f"A query ran past the budget of {budget_s} s.")
            else:
                log.exception("reconcile %s failed", kind)
                _end(run, Outcome.FAILED, error=_words(error))
        except Exception as error:  # one kind's fault is its own: recorded, shown, the others run
            log.exception("reconcile %s failed", kind)
            _end(run, Outcome.FAILED, error=_words(error))
        else:
            _end(run, Outcome.OK, counts=report.as_dict(), watermark=watermark)
    if run.outcome == Outcome.TIMED_OUT:
        log.error("reconcile %s timed out: %s", kind, run.error)
    return run


def _begin(kind, held):
    """The run's record: running, or skipped when another run of the kind holds it."""
    now = timezone.now()
    with transaction.atomic():  # SQLite: under the write lock, so two runs cannot both see none running
        running = ReconciliationRun.objects.filter(kind=kind, outcome=Outcome.RUNNING)
        if held and connection.vendor != "postgresql":
            # No advisory locks: a running row younger than the hard limit is a run going on.
            held = not running.filter(started_at__gt=now - timedelta(seconds=TIME_LIMIT_S)).exists()
        if not held:
            return ReconciliationRun.objects.create(kind=kind, started_at=now, finished_at=now,
                                                    outcome=Outcome.SKIPPED, error="A run of this kind was going on.")
        # Holding the lock, any other running row is a run whose worker died.
        running.update(outcome=Outcome.FAILED, finished_at=now,
                       error="It stopped without finishing (its worker ended or was killed).")
        ReconciliationRun.objects.filter(kind=kind, started_at__lt=now - RUN_RETENTION).delete()
        return ReconciliationRun.objects.create(kind=kind, started_at=now)


def _end(run, outcome, counts=None, error="", watermark=None):
    run.outcome, run.finished_at, run.error = outcome, timezone.now(), error
    run.counts, run.watermark = counts or {}, watermark
    run.save(update_fields=["outcome", "finished_at", "error", "counts", "watermark"])


def _timed_out(run, since, watermark, words):
    """Record a run stopped at its budget. A first run of an incremental kind
    (no watermark) that cannot get through its whole look-back would stop on
    every run and never find anything: it leaves its watermark, saying which
    rows were not looked at, and the next runs take the rows after them."""
    if since is None and watermark is not None:
        words += f" The rows up to {watermark} were not looked at; the next runs start after them."
        _end(run, Outcome.TIMED_OUT, error=words, watermark=watermark)
    else:
        _end(run, Outcome.TIMED_OUT, error=words)


def _since(kind):
    """Where an incremental kind starts: after the watermark of its last good
    run, or of a first run that timed out (None: its whole look-back)."""
    if not DETECTORS[kind].incremental:
        return None
    return (ReconciliationRun.objects.filter(kind=kind, outcome__in=(Outcome.OK, Outcome.TIMED_OUT),
                                             watermark__isnull=False)
            .order_by("-started_at").values_list("watermark", flat=True).first())


def _next_watermark(kind, since, started):
    """The last row the run will surely see, taken before it looks: the
    newest received WATERMARK_MARGIN before the run started (a row written
    since, or still being committed, is looked at by the next run too)."""
    model = DETECTORS[kind].incremental
    if not model:
        return None
    newest = (model.objects.filter(id__gt=since or 0, received_at__lt=started - WATERMARK_MARGIN)
              .order_by("-id").values_list("id", flat=True).first())
    return newest if newest is not None else since


@contextmanager
def _bounded(budget_s, repeatable_read=False):
    """Run the block within `budget_s` seconds: every query of it starts
    before the deadline, and on PostgreSQL may take no longer than the time
    left (SET LOCAL statement_timeout in the run's one transaction, which is
    REPEATABLE READ when asked)."""
    deadline = time.monotonic() + budget_s
    postgres = connection.vendor == "postgresql"
    limit = {"ms": None}

    def within_budget(execute, sql, params, many, context):
        left = deadline - time.monotonic()
        if left <= 0:
            raise RunTimedOut(f"{budget_s} s passed")
        if postgres and (limit["ms"] is None or limit["ms"] - left * 1000 > TIMEOUT_STEP_S * 1000):
            limit["ms"] = max(int(left * 1000), 1)
            # On a cursor of its own: the query's may be a server-side (named) one.
            with context["connection"].connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL statement_timeout = {limit['ms']}")
        return execute(sql, params, many, context)

    # Only a transaction of its own can choose its isolation (not one inside a test's or the bench's).
    repeatable_read = repeatable_read and postgres and not connection.in_atomic_block
    with transaction.atomic() if postgres else nullcontext():
        if repeatable_read:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with connection.execute_wrapper(within_budget):
            yield


def _words(error):
    return f"{type(error).__name__}: {error}"[:2000]


# How far back the integration health page counts the runs that did not end well.
TROUBLE_WINDOW = timedelta(hours=24)


def latest_runs(now=None):
    """For the integration health page, per kind: its latest run, how many
    of its runs in the last TROUBLE_WINDOW failed, timed out or were
    skipped, and the latest of those (with its error)."""
    since = (now or timezone.now()) - TROUBLE_WINDOW
    trouble = ReconciliationRun.objects.filter(started_at__gte=since).exclude(
        outcome__in=(Outcome.OK, Outcome.RUNNING))
    counts = dict(trouble.values("kind").annotate(n=Count("id")).values_list("kind", "n"))
    rows = []
    for kind, detector in DETECTORS.items():  # the kinds a run finds (not those people raise)
        label = detector.label
        runs = ReconciliationRun.objects.filter(kind=kind).order_by("-started_at")
        rows.append({
            "kind": kind, "label": label, "latest": runs.first(), "troubled": counts.get(kind, 0),
            "last_trouble": trouble.filter(kind=kind).order_by("-started_at").first() if kind in counts else None,
        })
    return rows
