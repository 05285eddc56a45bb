"""What each source sent per day and how ingest answered it: counted in the
batch's own transaction, read over GET /api/v1/ingest-days, so the
duplicate transaction rate can be measured."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection  # noqa: F401  (read by the skipif condition string)
from django.utils import timezone

from controltower.models import Role
from inventory.ingest_counts import observed_replays
from inventory.ledger import ingest_events, replay_rejections
from inventory.models import IngestDay, SourceSystem
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import LocationFactory, SourceSystemFactory
from tests.controltower.factories import UserFactory
from tests.inventory.payloads import event as any_event
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 23, 10, 0, tzinfo=dt_timezone.utc)


def event(**fields):
    """A valid receipt that occurred an hour before DAY."""
    return any_event(occurred_at=(DAY - timedelta(hours=1)).isoformat(), **fields)


def day_of(source, day=DAY):
    return IngestDay.objects.get(source=source, day=day.date())


def test_each_answer_is_counted_per_source_and_day(store, sku, pos):
    other = SourceSystemFactory(code="WMS")
    ingest_events(pos, [event(transaction_id="T1"), event(transaction_id="T2"), event(transaction_id="X", sku="NOPE")],
                  received_at=DAY)
    ingest_events(pos, [event(transaction_id="T1"), event(transaction_id="T2", quantity=9),
                        event(transaction_id="T3")], received_at=DAY + timedelta(minutes=7))
    ingest_events(other, [event(transaction_id="T1")], received_at=DAY)
    ingest_events(pos, [event(transaction_id="T4")], received_at=DAY + timedelta(days=1))

    today = day_of(pos)
    assert (today.received, today.accepted, today.duplicates, today.conflicts, today.rejected) == (6, 3, 1, 1, 1)
    assert today.longest_resend_s == 420  # T1 came again 7 minutes after its first receipt
    assert today.duplicate_rate == 1 / 6
    assert (day_of(other).received, day_of(other).duplicates, day_of(other).longest_resend_s) == (1, 0, None)
    assert day_of(pos, DAY + timedelta(days=1)).accepted == 1


def test_the_longest_resend_of_the_day_is_kept(store, sku, pos):
    ingest_events(pos, [event(transaction_id="A"), event(transaction_id="B")], received_at=DAY)
    ingest_events(pos, [event(transaction_id="A")], received_at=DAY + timedelta(seconds=900))
    ingest_events(pos, [event(transaction_id="B")], received_at=DAY + timedelta(seconds=60))

    assert (day_of(pos).duplicates, day_of(pos).longest_resend_s) == (2, 900)


def test_a_replayed_rejection_is_not_counted_again(store, sku, pos):
    ingest_events(pos, [event(transaction_id="T1", location="S404")], received_at=DAY)
    LocationFactory(code="S404")

    replay_rejections()

    assert (day_of(pos).received, day_of(pos).rejected, day_of(pos).accepted) == (1, 1, 0)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locking is a PostgreSQL matter")
def test_concurrent_batches_of_one_source_all_count(store, sku, pos):
    def batch(n):
        return [event(transaction_id=f"B{n}-{i}") for i in range(100)] + [event(transaction_id="SHARED")]

    results = run_at_once([lambda n=n: ingest_events(pos, batch(n), received_at=DAY) for n in range(4)])

    assert not [r for r in results if isinstance(r, Exception)], results
    today = day_of(pos)
    assert (today.received, today.accepted, today.duplicates) == (404, 401, 3)


# --- the API ---------------------------------------------------------------------

def get(client, key, **params):
    return client.get("/api/v1/ingest-days", params, HTTP_AUTHORIZATION=f"Token {key}")


def test_the_api_gives_the_days_of_a_source_since_a_day(api_client, store, sku, pos):
    other = SourceSystemFactory(code="ECOM", kind=SourceSystem.Kind.ECOM)
    ingest_events(pos, [event(transaction_id="T1")], received_at=DAY - timedelta(days=2))
    ingest_events(pos, [event(transaction_id="T2"), event(transaction_id="T2")], received_at=DAY)
    ingest_events(other, [event(transaction_id="T1")], received_at=DAY)
    admin = person_token(make_user(Role.INTEGRATION_ADMIN))

    response = get(api_client, admin, source="POS-EU", since="2026-11-22")

    assert response.status_code == 200
    assert response.json()["results"] == [{
        "source": "POS-EU", "day": "2026-11-23", "received": 2, "accepted": 1, "duplicates": 1, "conflicts": 0,
        "rejected": 0, "duplicate_rate": 0.5, "longest_resend_s": 0,
    }]
    assert len(get(api_client, admin).json()["results"]) == 3


def test_who_sees_the_ingest_days(api_client, store, sku, pos):
    other = SourceSystemFactory(code="ECOM", kind=SourceSystem.Kind.ECOM)
    ingest_events(pos, [event(transaction_id="T1")], received_at=DAY)
    ingest_events(other, [event(transaction_id="T1")], received_at=DAY)

    def sources(key):
        response = get(api_client, key)
        assert response.status_code == 200
        return [row["source"] for row in response.json()["results"]]

    assert sources(person_token(make_user(Role.EXECUTIVE))) == ["ECOM", "POS-EU"]
    assert sources(person_token(make_user(Role.STORE_MANAGER, [store]))) == []
    assert sources(source_token(pos)) == ["POS-EU"]


def test_a_bad_since_is_a_400_naming_it(api_client):
    response = get(api_client, person_token(make_user(Role.INTEGRATION_ADMIN)), since="yesterday")

    assert response.status_code == 400
    assert "since" in response.json()["errors"]


# --- the replay window beside what the source shows -------------------------------

def test_add_source_sets_the_window_and_shows_the_observed_replays(store, sku, pos):
    ingest_events(pos, [event(transaction_id="A")], received_at=DAY)
    ingest_events(pos, [event(transaction_id="A")], received_at=DAY + timedelta(seconds=312))
    out = StringIO()

    call_command("add_source", "POS-EU", "--kind", "pos", "--replay-window", "600", stdout=out)

    pos.refresh_from_db()
    assert pos.replay_window_s == 600
    assert "Replay window: 600 s." in out.getvalue()
    assert observed_replays(pos, days=100_000).longest_resend_s == 312

    call_command("add_source", "POS-EU", "--kind", "pos", "--replay-window", "default", stdout=out)
    pos.refresh_from_db()
    assert pos.replay_window_s is None


def test_the_admin_shows_the_observed_replays_beside_the_window(client, store, sku, pos):
    now = timezone.now()
    sent = any_event(transaction_id="A", occurred_at=(now - timedelta(hours=2)).isoformat())
    ingest_events(pos, [sent], received_at=now - timedelta(hours=1))
    ingest_events(pos, [sent], received_at=now)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))

    page = client.get(f"/admin/inventory/sourcesystem/{pos.pk}/change/").content.decode()

    assert 'name="replay_window_s"' in page
    assert "1 of 2 events were resent under their own transaction id" in page
    assert "the latest 3,600 s after the first receipt" in page


def test_nothing_observed_says_so():
    quiet = SourceSystemFactory(code="QUIET")
    assert observed_replays(quiet).words == "Nothing received in the last 30 days."
