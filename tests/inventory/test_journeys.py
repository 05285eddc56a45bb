"""Journey steps in (inventory.journeys and POST/GET /api/v1/journeys): the
state derived from the steps' order and times, idempotency, rejections kept
and replayed."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import orjson
import pytest
from django.utils import timezone

from controltower.models import Role
from inventory.journeys import derive, ingest_steps
from inventory.ledger import replay_rejections
from inventory.models import Journey, JourneyStep, RejectedEvent
from tests.conftest import on_postgres
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import LocationFactory, SourceSystemFactory
from tests.threads import run_at_once

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=dt_timezone.utc)
URL = "/api/v1/journeys"


def step(txn, name, at, business_id="WEB-1", journey="order_to_fulfilment", **extra):
    return {"transaction_id": txn, "journey": journey, "business_id": business_id, "step": name,
            "occurred_at": at.isoformat(), **extra}


def order_steps(store):
    return [
        step("O1", "placed", T0, channel="bopis", quantity=3),
        step("O2", "reserved", T0 + timedelta(minutes=5)),
        step("O3", "picked", T0 + timedelta(hours=1), location=store.code),
        step("O4", "ready_for_pickup", T0 + timedelta(hours=2), location=store.code),
        step("O5", "collected", T0 + timedelta(days=1), location=store.code, quantity=3),
    ]


def test_state_follows_step_order_and_time_not_arrival(store, pos):
    steps = order_steps(store)
    report = ingest_steps(pos, list(reversed(steps)))

    assert report.counts == {"accepted": 5, "duplicate": 0, "conflict": 0, "rejected": 0}
    journey = Journey.objects.get(kind="order_to_fulfilment", business_id="WEB-1")
    assert journey.state == "collected"
    assert journey.placed_at == T0
    assert journey.ready_at == T0 + timedelta(hours=2)
    assert journey.ready_s == 2 * 3600
    assert journey.location == store
    assert journey.channel == "bopis"
    assert journey.due_at is None  # collected: no SLA runs
    assert not journey.short and not journey.substituted


def test_a_late_earlier_step_moves_times_not_the_state(store, pos):
    ingest_steps(pos, order_steps(store)[:4])
    journey = Journey.objects.get()
    assert journey.state == "ready_for_pickup"
    assert journey.due_at == T0 + timedelta(hours=2) + timedelta(hours=72)

    # A second ready_for_pickup from another feed, earlier, arrives late.
    ingest_steps(pos, [step("O9", "ready_for_pickup", T0 + timedelta(hours=1, minutes=30), location=store.code)])
    journey.refresh_from_db()
    assert journey.state == "ready_for_pickup"
    assert journey.ready_at == T0 + timedelta(hours=1, minutes=30)
    assert journey.ready_s == 90 * 60


def test_resent_step_is_a_duplicate_and_other_content_a_conflict_kept(store, pos):
    steps = order_steps(store)
    ingest_steps(pos, steps)

    changed = dict(steps[0], quantity=4)
    report = ingest_steps(pos, [steps[0], changed])

    assert [r.status for r in report.results] == ["duplicate", "conflict"]
    assert JourneyStep.objects.count() == 5
    conflict = RejectedEvent.objects.get()
    assert (conflict.kind, conflict.feed, conflict.transaction_id) == ("conflict", "journeys", "O1")
    assert Journey.objects.get().placed_at == T0


def test_short_and_substitution_are_marked(store, pos):
    steps = order_steps(store)
    steps[4]["quantity"] = 2
    steps.append(step("O6", "substituted", T0 + timedelta(minutes=50), location=store.code))
    ingest_steps(pos, steps)

    journey = Journey.objects.get()
    assert journey.short and journey.substituted
    assert journey.state == "collected"  # a substitution sets no state


def test_bad_steps_are_rejected_per_field_and_the_batch_goes_on(store, pos):
    report = ingest_steps(pos, [
        step("B1", "collected", T0),  # no location
        step("B2", "fallout", T0),  # no reason
        step("B3", "price_override", T0, journey="promotion_to_settlement", location=store.code, reason="x"),
        step("B4", "refunded", T0),  # not a step of an order
        step("B5", "placed", T0, journey="order_to_nowhere"),
        step("B6", "placed", T0, channel="telepathy"),
        step("B7", "placed", T0 + timedelta(days=3650)),
        "not an object",
        step("B8", "placed", T0, location="NOWHERE"),
        step("B9", "placed", T0, quantity=-1),
        step("OK", "placed", T0),
    ])

    errors = [r.errors for r in report.results]
    assert list(errors[0]) == ["location"]
    assert list(errors[1]) == ["reason"]
    assert list(errors[2]) == ["cashier"]
    assert list(errors[3]) == ["step"]
    assert list(errors[4]) == ["journey"]
    assert list(errors[5]) == ["channel"]
    assert list(errors[6]) == ["occurred_at"]
    assert list(errors[7]) == ["non_field_errors"]
    assert list(errors[8]) == ["location"]
    assert list(errors[9]) == ["quantity"]
    assert report.results[10].status == "accepted"
    kept = RejectedEvent.objects.filter(feed="journeys", kind="rejected")
    assert kept.count() == 10
    assert set(kept.values_list("cause", flat=True)) >= {"location", "reason", "cashier", "journey"}


def test_replay_routes_journey_rejections_to_the_journeys(store, pos):
    ingest_steps(pos, [step("R1", "ready_for_pickup", T0, location="S777")])
    assert not Journey.objects.exists()

    LocationFactory(code="S777")
    totals = replay_rejections()

    assert totals["accepted"] == 1
    assert Journey.objects.get().state == "ready_for_pickup"
    rejection = RejectedEvent.objects.get()
    assert rejection.replay_status == "accepted" and rejection.replayed_at is not None
    assert replay_rejections()["accepted"] == 0


def test_return_legs_and_promotion_state(store, pos):
    ingest_steps(pos, [
        step("R1", "initiated", T0, business_id="RET-1", journey="return_to_refund"),
        step("R2", "received", T0 + timedelta(days=1), business_id="RET-1", journey="return_to_refund",
             location=store.code),
        step("R3", "refunded", T0 + timedelta(days=3), business_id="RET-1", journey="return_to_refund",
             amount="19.99"),
        step("P1", "price_override", T0, business_id="PR-1", journey="promotion_to_settlement",
             location=store.code, reason="price_match", cashier="C7"),
    ])
    ret = Journey.objects.get(business_id="RET-1")
    assert (ret.state, ret.refund_s, ret.settle_s) == ("refunded", 2 * 86400, None)
    assert ret.due_at == T0 + timedelta(days=3) + timedelta(days=10)
    assert Journey.objects.get(business_id="PR-1").state == "selling"


def test_derive_without_placed_starts_the_clock_at_the_first_step(store, pos):
    ingest_steps(pos, [step("X1", "reserved", T0)])
    journey = Journey.objects.get()
    assert journey.state == "reserved"
    assert journey.due_at == T0 + timedelta(hours=24)
    assert derive("order_to_fulfilment", [])["state"] == ""


# ---------------------------------------------------------------- API

def post(client, key, body):
    return client.post(URL, data=orjson.dumps(body), content_type="application/json",
                       HTTP_AUTHORIZATION=f"Token {key}")


def test_api_posts_for_sources_only_and_lists_scoped(api_client, store, pos):
    other = LocationFactory(code="S002")
    key = source_token(pos)
    now = timezone.now()
    response = post(api_client, key, {"steps": [
        step("A1", "ready_for_pickup", now - timedelta(hours=80), location=store.code),
        step("A2", "ready_for_pickup", now - timedelta(hours=1), business_id="WEB-2", location=other.code),
    ]})
    assert response.status_code == 200
    assert response.json()["counts"]["accepted"] == 2
    assert post(api_client, key, {"nope": []}).status_code == 400

    manager = make_user(Role.STORE_MANAGER, locations=[store])
    person = person_token(manager)
    assert post(api_client, person, {"steps": []}).status_code == 403
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {person}")
    rows = api_client.get(URL).json()["results"]
    assert [(r["business_id"], r["stuck"]) for r in rows] == [("WEB-1", True)]

    executive = person_token(make_user(Role.EXECUTIVE))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {executive}")
    assert [r["business_id"] for r in api_client.get(URL, {"stuck": "true"}).json()["results"]] == ["WEB-1"]
    assert [r["business_id"] for r in api_client.get(URL, {"stuck": "false"}).json()["results"]] == ["WEB-2"]
    since = (now - timedelta(hours=2)).isoformat()
    got = api_client.get(URL, {"step": "ready_for_pickup", "since": since, "locations": "S001,S002"}).json()
    assert [r["business_id"] for r in got["results"]] == ["WEB-2"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get(URL).status_code == 403


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_batches_of_one_journey_at_once_lose_no_step():
    store, oms, pos = LocationFactory(code="S001"), SourceSystemFactory(code="OMS"), SourceSystemFactory(code="POS")
    for n in range(10):
        business_id = f"WEB-{n}"
        first = [step(f"{n}-p", "placed", T0, business_id), step(f"{n}-r", "reserved", T0 + timedelta(minutes=1),
                                                                    business_id)]
        second = [step(f"{n}-k", "picked", T0 + timedelta(hours=1), business_id, location=store.code),
                  step(f"{n}-y", "ready_for_pickup", T0 + timedelta(hours=2), business_id, location=store.code)]
        results = run_at_once([lambda: ingest_steps(oms, first), lambda: ingest_steps(pos, second),
                               lambda: ingest_steps(oms, first)])

        assert not [r for r in results if isinstance(r, Exception)], results
        assert sorted(r.counts["accepted"] for r in results) == [0, 2, 2]
        journey = Journey.objects.get(business_id=business_id)
        assert (journey.state, journey.placed_at, journey.ready_s) == ("ready_for_pickup", T0, 2 * 3600)
        assert journey.steps.count() == 4
