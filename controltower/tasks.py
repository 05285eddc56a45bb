"""The one way a Celery task is declared.

`tower_task` gives every task an explicit, stable name (beat schedules and
messages already queued refer to it, so renaming a function must not rename
the task), its time limits (a soft limit the task can clean up after, then a
hard one), and a log line when it starts, ends or fails, with its duration.
Other Celery options (retries for a task that talks to the outside) pass through.

`enqueue` is the one way work is sent to a worker from a request or a sweep.
"""
import functools
import logging
import time

from celery import shared_task
from kombu.exceptions import OperationalError

log = logging.getLogger("controltower.tasks")


def tower_task(name, *, soft_time_limit, time_limit, **options):
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

        return shared_task(name=name, soft_time_limit=soft_time_limit, time_limit=time_limit, **options)(run)

    return decorate


def enqueue(task, *args):
    """Send `task(*args)` to a worker; whether the broker took it. The caller
    has recorded the work first: when the broker is away this logs and
    returns False, and the beat sweep of that work runs it later."""
    try:
        task.delay(*args)
    except OperationalError:
        log.warning("task %s%s not queued: the broker is away; its sweep runs it later", task.name, args,
                    exc_info=True)
        return False
    return True


@tower_task("controltower.roll_up_kpis", soft_time_limit=1800, time_limit=1860)
def roll_up_kpis():
    """The incremental KPI rollup (beat); the work is in controltower.rollups."""
    from .rollups import roll_up

    return roll_up()
