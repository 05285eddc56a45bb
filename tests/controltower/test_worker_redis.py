"""A real Celery worker on Redis: reconciliation sent twice at once, and once
more into a worker killed halfway, ends with the open cases of one clean run.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://127.0.0.1:6379/5
SECRET_KEY=<50+ characters> (as `make test-postgres` does); skipped otherwise.
"""
import json
import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from controltower.celery import app
from exceptions.findings import CaseKind
from exceptions.models import Case, ReconciliationRun
from exceptions.reconciliation import negative_stock
from inventory.ledger import ingest_events
from inventory.models import SourceSystem
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

BROKER = os.environ.get("CELERY_BROKER_URL", "")
ROOT = Path(__file__).resolve().parents[2]
KIND = CaseKind.NEGATIVE_STOCK

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not BROKER.startswith("redis://"), reason="needs CELERY_BROKER_URL=redis://"),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"),
]


def database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(queue, log):
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "SECRET_KEY": settings.SECRET_KEY,
        # Hand a dead worker's task to the next worker after 3 s, not an hour.
        "CELERY_VISIBILITY_TIMEOUT": "3",
        "CELERY_UNACKED_RESTORE_INTERVAL": "1",
        "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    }
    return subprocess.Popen(
        [str(ROOT / ".venv/bin/celery"), "-A", "controltower", "worker", "--pool=threads", "-c", "2",
         "-Q", queue, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def pending(broker, queue):
    """Messages of `queue` still waiting or running (acks_late: unacked until done)."""
    unacked = [json.loads(v)[2] for v in broker.hvals("unacked")]
    return broker.llen(queue) + unacked.count(queue)


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def open_fingerprints():
    return set(Case.objects.filter(kind=KIND, status__in=Case.ACTIVE).values_list("fingerprint", flat=True))


def clean_run():
    return {finding.fingerprint for finding in negative_stock()}


def sell_more_than_stocked(pos, store, skus, txn_prefix):
    at = (timezone.now() - timedelta(minutes=5)).isoformat()
    events = [
        {"transaction_id": f"{txn_prefix}-{sku.code}", "type": "sale", "location": store.code,
         "sku": sku.code, "quantity": 3, "occurred_at": at}
        for sku in skus
    ]
    assert ingest_events(pos, events).counts["accepted"] == len(skus)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twice_at_once_and_killed_halfway_give_the_cases_of_one_clean_run(tmp_path):
    broker = redis.Redis.from_url(BROKER)
    queue = f"test-reconcile-{uuid.uuid4().hex[:8]}"
    pos = SourceSystemFactory(code="POS-W", kind=SourceSystem.Kind.POS)
    store = LocationFactory(code="W001")
    skus = [SKUFactory(code=f"W{n:04d}") for n in range(6)]
    sell_more_than_stocked(pos, store, skus[:4], "a")
    log = open(tmp_path / "worker.log", "w")
    workers = [start_worker(queue, log)]
    try:
        # Twice at once: two threads of one worker.
        for _ in range(2):
            app.send_task(f"reconcile.{KIND}", queue=queue)
        wait_until(lambda: pending(broker, queue) == 0, 30, "both runs")
        assert open_fingerprints() == clean_run()
        assert len(open_fingerprints()) == 4
        assert Case.objects.filter(kind=KIND).count() == 4

        # The conditions change; the next run is killed while it waits for
        # the per-kind lock, i.e. halfway (findings computed, nothing written).
        sell_more_than_stocked(pos, store, skus[4:], "b")
        ingest_events(pos, [{"transaction_id": "fix", "type": "receipt", "location": store.code,
                             "sku": skus[0].code, "quantity": 10, "reference": "PO1",
                             "occurred_at": timezone.now().isoformat()}])
        with psycopg.connect(database_url().replace("postgres://", "postgresql://"), autocommit=True) as lock:
            lock.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"cases:{KIND}"])
            app.send_task(f"reconcile.{KIND}", queue=queue)
            wait_until(
                lambda: lock.execute(
                    "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()[0] == 1,
                30, "the run to block on the lock",
            )
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)
            assert pending(broker, queue) == 1  # not acknowledged: it will be redelivered
            workers.append(start_worker(queue, log))
        wait_until(lambda: pending(broker, queue) == 0, 30, "the redelivered run")

        expected = clean_run()
        assert open_fingerprints() == expected
        assert len(expected) == 5
        assert Case.objects.filter(kind=KIND).count() == 6
        assert Case.objects.filter(kind=KIND, status=Case.Status.RESOLVED, auto_resolved=True).count() == 1
        # The killed run is on record: the redelivered one found it never finished.
        killed = ReconciliationRun.objects.filter(kind=KIND, outcome=ReconciliationRun.Outcome.FAILED)
        assert [run.error for run in killed] == ["It stopped without finishing (its worker ended or was killed)."]
        assert not ReconciliationRun.objects.filter(kind=KIND, outcome=ReconciliationRun.Outcome.RUNNING).exists()
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(10)
                except subprocess.TimeoutExpired:
                    worker.kill()
        log.close()
        broker.delete(queue)
