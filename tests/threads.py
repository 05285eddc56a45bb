"""Running jobs at the same moment in real threads, each on its own database
connection (PostgreSQL: SQLite serialises every writer behind one lock)."""
import threading

from django.db import connections


def run_at_once(jobs):
    """Start every job at once (behind a barrier) and wait for all; returns
    their results in order and re-raises nothing: a job's exception is its result."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def runner(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # noqa: BLE001 - the test asserts on it
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results
