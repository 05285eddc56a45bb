"""Two requests or two workers touching the same position never lose an update.

Real threads, each with its own PostgreSQL connection (SQLite serialises all
writers behind one lock, so there is nothing to race there).
"""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.db import connection  # noqa: F401  (read by the skipif condition string)

from inventory import ledger
from inventory.models import InventoryEvent, Position
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory
from tests.threads import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locking is a PostgreSQL matter"),
]

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=dt_timezone.utc)


def run_in_threads(jobs):
    results = run_at_once(jobs)
    assert not [r for r in results if isinstance(r, Exception)], results


def sales(prefix, store, sku, count, start=0):
    return [
        {
            "transaction_id": f"{prefix}-{n}",
            "type": "sale",
            "location": store.code,
            "sku": sku.code,
            "quantity": 1,
            "occurred_at": (T0 + timedelta(seconds=start + n)).isoformat(),
        }
        for n in range(count)
    ]


def test_concurrent_batches_on_the_same_position_lose_nothing():
    store, sku = LocationFactory(), SKUFactory()
    tills = [SourceSystemFactory(code=f"TILL-{n}") for n in range(4)]
    jobs = [
        (lambda till=till: [ledger.ingest_events(till, sales(f"b{b}", store, sku, 50)) for b in range(5)])
        for till in tills
    ]
    run_in_threads(jobs)
    assert InventoryEvent.objects.count() == 4 * 5 * 50
    assert Position.objects.get(location=store, sku=sku).available == -1000
    assert ledger.rebuild_positions().differences == []


def test_the_same_batch_posted_twice_at_once_is_applied_once():
    store, sku = LocationFactory(), SKUFactory()
    till = SourceSystemFactory()
    batch = sales("retry", store, sku, 200)
    reports = []
    run_in_threads([lambda: reports.append(ledger.ingest_events(till, batch)) for _ in range(2)])
    counts = sorted((r.counts["accepted"], r.counts["duplicate"]) for r in reports)
    assert counts == [(0, 200), (200, 0)]
    assert Position.objects.get(location=store, sku=sku).available == -200


def test_counts_and_sales_racing_on_one_position_match_the_ledger():
    store, sku = LocationFactory(), SKUFactory()
    till, counter = SourceSystemFactory(code="TILL"), SourceSystemFactory(code="HANDHELD")
    counts = [
        {
            "transaction_id": f"count-{n}",
            "type": "cycle_count",
            "location": store.code,
            "sku": sku.code,
            "quantity": 100 + n,
            "occurred_at": (T0 + timedelta(seconds=40 * n)).isoformat(),
        }
        for n in range(5)
    ]
    run_in_threads([
        lambda: [ledger.ingest_events(till, sales(f"s{b}", store, sku, 40, start=50 * b)) for b in range(5)],
        lambda: [ledger.ingest_events(counter, [c]) for c in counts],
    ])
    assert ledger.rebuild_positions().differences == []
    # The last count (104 at 160 s) covers every sale up to 160 s; the 29
    # sales at 161-189 s and the 40 at 200-239 s apply on top of it.
    assert Position.objects.get(location=store, sku=sku).available == 104 - 69


def test_eight_clients_replaying_shuffled_overlapping_batches_get_answers_not_errors():
    """Each key is settled in the insert (ON CONFLICT DO NOTHING): a key
    another request posted a moment before is a duplicate, never a 500."""
    import random

    from rest_framework.test import APIClient

    from tests.controltower.factories import source_token

    stores = [LocationFactory() for _ in range(2)]
    skus = [SKUFactory() for _ in range(2)]
    till = SourceSystemFactory()
    key = source_token(till)
    events = [
        {
            "transaction_id": f"E{n:04d}",
            "type": "receipt" if n % 3 == 0 else "sale",
            "location": stores[n % 2].code,
            "sku": skus[(n // 2) % 2].code,
            "quantity": 1 + n % 4,
            "occurred_at": (T0 + timedelta(seconds=n)).isoformat(),
        }
        for n in range(400)
    ]
    # Overlapping windows: every event is in four batches.
    batches = [events[start:start + 100] for start in range(-75, 400, 25)]

    def client(seed):
        # Two groups of four clients send the batches in the same order (so
        # they collide on every batch), each shuffling the events in them.
        order = random.Random(seed % 2).sample(batches, len(batches))
        rng = random.Random(seed)
        api = APIClient()
        answers = []
        for batch in order:
            batch = rng.sample(batch, len(batch))
            response = api.post(
                "/api/v1/events", {"events": batch}, format="json", HTTP_AUTHORIZATION=f"Token {key}"
            )
            answers.append((response.status_code, response.json()))
        return answers

    results = run_at_once([lambda seed=seed: client(seed) for seed in range(8)])

    assert not [r for r in results if isinstance(r, Exception)], results
    statuses = [code for answers in results for code, _ in answers]
    assert set(statuses) == {200}
    accepted = [
        item["transaction_id"]
        for answers in results for _, body in answers for item in body["results"]
        if item["status"] == "accepted"
    ]
    others = {
        item["status"]
        for answers in results for _, body in answers for item in body["results"]
        if item["status"] != "accepted"
    }
    assert sorted(accepted) == sorted(e["transaction_id"] for e in events)  # once each
    assert others == {"duplicate"}
    assert InventoryEvent.objects.filter(source=till).count() == 400
    assert ledger.rebuild_positions().differences == []
    expected = sum((e["quantity"] if e["type"] == "receipt" else -e["quantity"]) for e in events
                   if e["location"] == stores[0].code and e["sku"] == skus[0].code)
    assert Position.objects.get(location=stores[0], sku=skus[0]).available == expected
