"""A PostgreSQL connection terminated in the middle of an ingest batch (a
database restart, an idle-connection reaper, a failover): the request fails,
the client sends the same batch again, and the ledger ends with every event
once, nothing lost, nothing doubled.

The batch goes through Django's WSGI handler, as gunicorn calls it, in a
thread of its own; the test terminates that thread's backend from another
connection once the batch has written rows but not committed them.
"""
import json
import threading
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, connections
from django.test import RequestFactory

from inventory import ledger
from inventory.models import IngestDay, InventoryEvent, Position
from tests.controltower.factories import source_token
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a PostgreSQL backend to terminate"),
]

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)


def other_connection():
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
                           dbname=db["NAME"], autocommit=True)


def post(body, key):
    """POST /api/v1/events through Django's WSGI handler; the status code."""
    request = RequestFactory().post("/api/v1/events", data=json.dumps(body), content_type="application/json",
                                    HTTP_AUTHORIZATION=f"Token {key}")
    status = []
    response = WSGIHandler()(request.environ, lambda code, headers, *exc: status.append(int(code.split()[0])))
    b"".join(response)
    response.close()
    return status[0]


def terminate_when_writing(watcher, deadline):
    """Terminate the backend of this database that is in a transaction that
    has written (holds a transaction id) and not yet committed; its pid."""
    while time.monotonic() < deadline:
        row = watcher.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL AND state IN ('active', 'idle in transaction')").fetchone()
        if row:
            watcher.execute("SELECT pg_terminate_backend(%s)", [row[0]])
            return row[0]
        time.sleep(0.002)
    return None


def test_a_batch_whose_connection_is_terminated_midway_and_is_sent_again_lands_once(settings):
    stores = [LocationFactory() for _ in range(4)]
    skus = [SKUFactory() for _ in range(25)]
    till = SourceSystemFactory()
    key = source_token(till)
    events = [
        {"transaction_id": f"F{n:05d}", "type": "receipt" if n % 4 == 0 else "sale",
         "location": stores[n % 4].code, "sku": skus[(n // 4) % 25].code, "quantity": 1 + n % 3,
         "occurred_at": (T0 + timedelta(seconds=n)).isoformat()}
        for n in range(settings.INGEST_MAX_EVENTS)
    ]
    body = {"events": events}
    killed = threading.Event()
    answers = []

    def client():
        try:
            answers.append(post(body, key))  # terminated midway: a 500
            killed.wait(timeout=60)
            answers.append(post(body, key))  # the client retries the same ids
        finally:
            connections.close_all()

    thread = threading.Thread(target=client)
    with other_connection() as watcher:
        thread.start()
        pid = terminate_when_writing(watcher, deadline=time.monotonic() + 60)
        killed.set()
        thread.join(timeout=120)

    assert pid is not None, "the batch committed before it could be terminated"
    assert answers == [500, 200]
    assert InventoryEvent.objects.filter(source=till).count() == len(events)
    expected = {}
    for event in events:
        sign = 1 if event["type"] == "receipt" else -1
        place = (event["location"], event["sku"])
        expected[place] = expected.get(place, 0) + sign * event["quantity"]
    positions = {(p.location.code, p.sku.code): p.available
                 for p in Position.objects.select_related("location", "sku")}
    assert positions == expected
    assert ledger.rebuild_positions().differences == []
    day = IngestDay.objects.get(source=till)
    assert (day.received, day.accepted, day.duplicates) == (len(events), len(events), 0)
