"""The journey KPIs (inventory.journey_kpis) on hand-built journeys with known values."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest

from controltower import metrics, rollups
from controltower.metrics import Scope, Window, measure
from controltower.models import KpiDay
from inventory.journey_kpis import days_changed_since
from inventory.journeys import ingest_steps
from tests.inventory.factories import LocationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

DAY = datetime(2026, 11, 2, tzinfo=dt_timezone.utc)
WINDOW = Window(since=DAY, until=DAY + timedelta(days=1))
ESTATE = Scope()


def step(txn, journey, business_id, name, at, **extra):
    return {"transaction_id": txn, "journey": journey, "business_id": business_id, "step": name,
            "occurred_at": at.isoformat(), **extra}


def order(n, store, channel="bopis", ready_after_h=None, collected=True, fallout=None, substituted=False,
          short=False, placed=DAY + timedelta(hours=9)):
    """The steps of order WEB-n: placed, then ready after `ready_after_h` hours and collected, or fallout."""
    oid = f"WEB-{n}"
    steps = [step(f"{oid}-p", "order_to_fulfilment", oid, "placed", placed, channel=channel, quantity=2)]
    if fallout:
        steps.append(step(f"{oid}-f", "order_to_fulfilment", oid, "fallout", placed + timedelta(hours=1),
                          reason=fallout, location=store.code))
        return steps
    if ready_after_h is not None:
        ready = placed + timedelta(hours=ready_after_h)
        steps.append(step(f"{oid}-r", "order_to_fulfilment", oid, "ready_for_pickup", ready, location=store.code))
        if substituted:
            steps.append(step(f"{oid}-s", "order_to_fulfilment", oid, "substituted", ready, location=store.code))
        if collected:
            steps.append(step(f"{oid}-c", "order_to_fulfilment", oid, "collected", ready + timedelta(hours=5),
                              location=store.code, quantity=1 if short else 2))
    return steps


@pytest.fixture
def orders(store, pos):
    other = LocationFactory(code="S002")
    steps = (
        order(1, store, ready_after_h=1)
        + order(2, store, ready_after_h=2, substituted=True)
        + order(3, store, ready_after_h=3, short=True)
        + order(4, store, ready_after_h=4, collected=False)
        + order(5, store, fallout="out_of_stock")
        + order(6, other, channel="ship_from_store", fallout="out_of_stock")
        + order(7, other, channel="ship_from_store", fallout="damaged")
        + order(8, other, channel="ship_from_store", ready_after_h=10)
    )
    ingest_steps(pos, steps)
    return store, other


def test_order_fallout_rate_with_reasons(orders):
    store, other = orders
    reading = measure("order_fallout_rate", ESTATE, WINDOW).reading
    assert reading.value == Decimal(3 * 100) / 8
    assert reading.detail["by_reason"] == {"damaged": 1, "out_of_stock": 2}
    assert measure("order_fallout_rate", Scope.of(locations=[store.pk]), WINDOW).value == Decimal(100) / 5
    assert measure("order_fallout_rate", Scope.of(channels=["ship_from_store"]), WINDOW).value == Decimal(200) / 3
    assert "kind=order_to_fulfilment" in reading.records_url and "step=placed" in reading.records_url


def test_pickup_readiness_accuracy_counts_only_clean_collections(orders):
    reading = measure("pickup_readiness_accuracy", ESTATE, WINDOW).reading
    # Ready: 1, 2 (substituted), 3 (short), 4 (not collected), 8: clean 1 and 8.
    assert (reading.value, reading.sample) == (Decimal(2 * 100) / 5, 5)


def test_order_to_ready_time_is_the_median(orders):
    store, _ = orders
    assert measure("order_to_ready_time", ESTATE, WINDOW).value == 3 * 3600  # of 1, 2, 3, 4, 10 h
    assert measure("order_to_ready_time", Scope.of(locations=[store.pk]), WINDOW).value == 2 * 3600  # 1..4 h


def test_refund_legs(store, pos):
    steps = []
    for n, (refund_days, settle_days) in enumerate([(1, 3), (2, None), (4, 9)]):
        rid = f"RET-{n}"
        received = DAY - timedelta(days=refund_days) + timedelta(hours=10)
        steps.append(step(f"{rid}-r", "return_to_refund", rid, "received", received, location=store.code))
        steps.append(step(f"{rid}-f", "return_to_refund", rid, "refunded", DAY + timedelta(hours=10)))
        if settle_days:
            steps.append(step(f"{rid}-s", "return_to_refund", rid, "settled",
                                  DAY + timedelta(days=settle_days, hours=10)))
    ingest_steps(pos, steps)

    assert measure("refund_received_to_refunded", ESTATE, WINDOW).value == 2 * 86400
    settled = Window(since=DAY, until=DAY + timedelta(days=30))
    reading = measure("refund_refunded_to_settled", ESTATE, settled).reading
    assert (reading.value, reading.sample) == (3 * 86400, 2)  # nearest rank of 3 and 9 days


def test_promotion_override_frequency_by_cashier(store, pos):
    steps = [step(f"S{n}", "promotion_to_settlement", "PR-1", "promotion_sale", DAY + timedelta(hours=9, minutes=n),
                  location=store.code, channel="store") for n in range(8)]
    steps += [
        step("O1", "promotion_to_settlement", "PR-1", "price_override", DAY + timedelta(hours=10),
             location=store.code, reason="price_match", cashier="C1"),
        step("O2", "promotion_to_settlement", "PR-1", "price_override", DAY + timedelta(hours=11),
             location=store.code, reason="damaged_pack", cashier="C1"),
        step("O3", "promotion_to_settlement", "PR-1", "price_override", DAY + timedelta(hours=12),
             location=store.code, reason="price_match", cashier="C2"),
    ]
    ingest_steps(pos, steps)
    ingest_steps(pos, steps[:3])  # resent: duplicates never count twice

    reading = measure("promotion_override_frequency", Scope.of(locations=[store.pk]), WINDOW).reading
    assert reading.value == Decimal(3 * 100) / 8
    assert reading.detail["by_cashier"] == {"C1": 2, "C2": 1}


def test_no_journeys_is_no_data(store):
    for key in ("order_fallout_rate", "pickup_readiness_accuracy", "order_to_ready_time",
                "refund_received_to_refunded", "refund_refunded_to_settled", "promotion_override_frequency"):
        assert measure(key, ESTATE, WINDOW).value is None, key
        assert measure(key, Scope.of(locations=[]), WINDOW).value is None, key


def test_a_late_fallout_changes_the_day_the_order_was_placed(store, pos):
    ingest_steps(pos, order(1, store, ready_after_h=None))
    moment = datetime.now(dt_timezone.utc)
    ingest_steps(pos, [step("late", "order_to_fulfilment", "WEB-1", "fallout", DAY + timedelta(days=3),
                            reason="out_of_stock")])
    assert days_changed_since(moment) == {date(2026, 11, 2), date(2026, 11, 5)}


def test_rolled_up_by_channel(orders):
    rollups.roll_day(DAY.date())
    row = KpiDay.objects.get(metric="order_fallout_rate", dimension="channel", member="ship_from_store", day=DAY.date())
    assert row.value == (Decimal(200) / 3).quantize(Decimal("0.0001"))
    assert row.detail["by_reason"] == {"damaged": 1, "out_of_stock": 1}
    web = KpiDay.objects.get(metric="order_fallout_rate", dimension="channel", member="web", day=DAY.date())
    assert web.value is None


def test_a_day_rolled_again_rolls_the_days_whose_trailing_week_covers_it(orders):
    """Ready orders are few a day: their rollup value is the 7 days to each
    day (Metric.rollup_days), so a day recomputed recomputes those after it."""
    rollups.roll_days({DAY.date()}, now=DAY + timedelta(days=2, hours=1))
    later = DAY.date() + timedelta(days=2)
    ready = KpiDay.objects.get(metric="order_to_ready_time", dimension="estate", day=later)
    assert ready.value == KpiDay.objects.get(metric="order_to_ready_time", dimension="estate", day=DAY.date()).value
    assert ready.value is not None
    # A metric of the day's own events is not rolled for the later days.
    assert not KpiDay.objects.filter(metric="order_fallout_rate", day=later).exists()
    assert not KpiDay.objects.filter(day=later + timedelta(days=1)).exists()  # after `now`


def test_a_batched_journey_metric_reads_for_many_scopes_what_it_reads_for_each(orders, pos):
    """The rollups measure every location, region and channel at once
    (compute_many); each scope reads what it reads alone (gates, boards)."""
    store, other = orders
    ingest_steps(pos, [
        step("P1", "promotion_to_settlement", "PR-1", "promotion_sale", DAY + timedelta(hours=9),
             location=store.code, channel="store"),
        step("O1", "promotion_to_settlement", "PR-1", "price_override", DAY + timedelta(hours=10),
             location=other.code, reason="price_match", cashier="C1"),
    ])
    scopes = [ESTATE, Scope.of(locations=[store.pk]), Scope.of(locations=[other.pk]),
              Scope.of(channels=["bopis"]), Scope.of(channels=["ship_from_store", "store"]),
              Scope.of(locations=[other.pk], channels=["ship_from_store"]), Scope.of(locations=[]),
              Scope.of(channels=[])]
    week = Window(since=DAY - timedelta(days=6), until=DAY + timedelta(days=1))
    for key in ("order_fallout_rate", "pickup_readiness_accuracy", "order_to_ready_time",
                "refund_received_to_refunded", "refund_refunded_to_settled", "promotion_override_frequency"):
        metric = metrics.get(key)
        for window in (WINDOW, week):
            assert metric.measure_many(scopes, window) == [metric.compute(scope, window) for scope in scopes], key
    fallout = metrics.get("order_fallout_rate").measure_many(scopes, WINDOW)
    assert [reading.sample for reading in fallout] == [8, 5, 3, 5, 3, 3, 0, 0]
