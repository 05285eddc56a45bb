"""The one way a Celery task is declared.

`tower_task` gives every task an explicit, stable name (beat schedules and
messages already queued refer to it, so renaming a function must not rename
the task), its time limits (a soft limit the task can clean up after, then a
hard one), and a log line when it starts, ends or fails, with its duration.
"""
import functools
import logging
import time

from celery import shared_task

log = logging.getLogger("controltower.tasks")


def tower_task(name, *, soft_time_limit, time_limit):
    if time_limit <= soft_time_limit:
        raise ValueError(f"{name}: the hard time limit must come after the soft one")

    def decorate(func):
        @functools.wraps(func)
        def run(*args, **kwargs):
            started = time.monotonic()
            log.info("task %s started", name)
            try:
                result = func(*args, **kwargs)
            except Exception:
                log.exception("task %s failed after %.1f s", name, time.monotonic() - started)
                raise
            log.info("task %s done in %.1f s", name, time.monotonic() - started)
            return result

        return shared_task(name=name, soft_time_limit=soft_time_limit, time_limit=time_limit)(run)

    return decorate


@tower_task("controltower.roll_up_kpis", soft_time_limit=1800, time_limit=1860)
def roll_up_kpis():
    """The incremental KPI rollup (beat); the work is in controltower.rollups."""
    from .rollups import roll_up

    return roll_up()
