"""The anomaly cases: phantom inventory, outlier adjustments per store,
refund outliers per cashier, rejection-rate spikes per source. Each is a
registered kind whose case says why (baseline, observed, score, window and
its series) and clears itself once its series is back to normal."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from exceptions.detectors import DETECTORS, beat_schedule
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from inventory.journeys import ingest_steps
from inventory.models import SKU, IngestDay, InventoryEvent, Position
from tests.inventory.factories import (
    InventoryEventFactory,
    LocationFactory,
    RegionFactory,
    SKUFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=dt_timezone.utc)
KINDS = (CaseKind.PHANTOM_INVENTORY, CaseKind.ADJUSTMENT_OUTLIER, CaseKind.REFUND_OUTLIER,
         CaseKind.REJECTION_SPIKE)


def lines(source, location, sku, days_ago, type="sale", quantity=1, hour=10):
    """One ledger line a day of `days_ago` (before NOW), as rows."""
    InventoryEvent.objects.bulk_create([
        InventoryEventFactory.build(source=source, location=location, sku=sku, type=type, quantity=quantity,
                                    occurred_at=NOW - timedelta(days=d, hours=hour - 10),
                                    received_at=NOW - timedelta(days=d),
                                    transaction_id=f"{type}-{location.pk}-{sku.pk}-{d}-{n}")
        for n, d in enumerate(days_ago)
    ])


@pytest.fixture
def till():
    return SourceSystemFactory(code="POS-A")


@pytest.fixture
def region():
    return RegionFactory(code="R1")


def test_every_anomaly_kind_is_registered_and_scheduled():
    for kind in KINDS:
        assert kind in DETECTORS and DETECTORS[kind].timed
        assert f"reconcile-{kind}" in beat_schedule()


# ------------------------------------------------------------- phantom inventory

def test_a_steady_seller_that_stopped_selling_with_stock_on_record_is_phantom(default_routing, till, region):
    store = LocationFactory(code="S001", region=region)
    stopped, slow, empty = SKUFactory(code="STOPPED"), SKUFactory(code="SLOW"), SKUFactory(code="EMPTY")
    lines(till, store, stopped, range(12, 41))  # daily for 29 days, then nothing for 12
    lines(till, store, slow, range(6, 50, 3))  # every 3 days: 6 days without a sale is normal
    lines(till, store, SKUFactory(code="BURST"), range(20, 30))  # 10 days in a row: not steady, not tested
    lines(till, store, empty, range(12, 41))  # stopped, but nothing on record: nothing to chase
    Position.objects.create(location=store, sku=SKU.objects.get(code="BURST"), available=5)
    for sku, available in ((stopped, 14), (slow, 3), (empty, 0)):
        Position.objects.create(location=store, sku=sku, available=available)

    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)  # a rerun never duplicates

    case = Case.objects.get(kind=CaseKind.PHANTOM_INVENTORY)
    assert (case.location_id, case.sku_id, case.quantity_at_risk) == (store.pk, stopped.pk, 14)
    assert case.status == Case.Status.OPEN and case.severity >= 2  # never above 2: stock, not money lost yet
    why = case.details["anomaly"]
    numbers = why["numbers"]
    # 29 sales on the 29 days from the first to the last: 1 a day, no spread: Poisson.
    # Tested: STOPPED, SLOW and EMPTY, which sold as steadily (counted, stock or not: only stricter).
    assert numbers["rate_per_day"] == 1.0 and numbers["model"] == "poisson" and numbers["tests"] == 3
    assert numbers["gap_days"] == 12.0 and numbers["log_p"] == -12.0
    assert why["observed"].startswith("No sale for 12.0 days") and "14 on record" in why["observed"]
    assert "1 in 162,755 chance" in why["score"]
    series = why["series"]
    assert len(series["values"]) == 56 and series["values"][-12:] == [0] * 12 and series["values"][-13] == 1
    assert series["marked"] == list(range(44, 56))
    # Behind it: its latest sale line.
    latest = InventoryEvent.objects.filter(sku=stopped).order_by("-occurred_at").first()
    assert list(case.links.values_list("kind", "object_id")) == [("event", latest.pk)]

    # It sells again: the record was right after all, and the case clears itself.
    lines(till, store, stopped, [0.5])
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED and case.auto_resolved


def test_overdispersed_sales_are_judged_on_a_negative_binomial(default_routing, till, region):
    store = LocationFactory(code="S001", region=region)
    lumpy = SKUFactory(code="LUMPY")
    # 3 sales every other day from 42 to 14 days ago (15 days, 45 sales over a span of 29 days).
    days = [d for d in range(14, 43, 2) for _ in range(3)]
    lines(till, store, lumpy, days)
    Position.objects.create(location=store, sku=lumpy, available=9)

    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)

    numbers = Case.objects.get(kind=CaseKind.PHANTOM_INVENTORY).details["anomaly"]["numbers"]
    # mean 45 / 29 = 1.5517; squares 15 x 9 = 135: variance (135 - 45^2 / 29) / 28 = 2.3276 > mean.
    assert numbers["model"] == "negative_binomial"
    assert numbers["rate_per_day"] == pytest.approx(1.5517, abs=1e-4)
    assert numbers["variance"] == pytest.approx(2.3276, abs=1e-4)
    # k = 1.5517^2 / (2.3276 - 1.5517) = 3.1034; ln P = -k x 14 x ln(1 + 1.5517 / 3.1034) = -17.62,
    # likelier than the Poisson's -1.5517 x 14 = -21.72.
    assert numbers["log_p"] == pytest.approx(-17.62, abs=0.01)


def test_a_four_week_old_steady_seller_whose_shelf_emptied_is_phantom_a_week_later(default_routing, till, region,
                                                                                   settings):
    """Phantom stock in a seller's first weeks: 2 a day for 15 days, then its
    shelf emptied and nothing for 7 days, among 19 positions still selling
    as steadily. Its first and last sale are 15 days apart: tested (the 14
    days of RECONCILE_PHANTOM_MIN_SPAN_DAYS), where a 28-day span never
    tested a seller this young."""
    store = LocationFactory(code="S001", region=region)
    emptied, young = SKUFactory(code="EMPTIED"), SKUFactory(code="YOUNG")
    lines(till, store, emptied, [d for d in range(7, 22) for _ in range(2)])
    lines(till, store, young, range(7, 17))  # 10 days, then nothing: too few days apart to judge
    for sku in (emptied, young):
        Position.objects.create(location=store, sku=sku, available=12)
    for n in range(19):
        busy = SKUFactory(code=f"BUSY{n}")
        lines(till, store, busy, [d for d in range(0, 22) for _ in range(2)])
        Position.objects.create(location=store, sku=busy, available=12)

    settings.RECONCILIATION = {**settings.RECONCILIATION, "phantom_min_span_days": 28}
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    assert not Case.objects.filter(kind=CaseKind.PHANTOM_INVENTORY).exists()

    settings.RECONCILIATION = {**settings.RECONCILIATION, "phantom_min_span_days": 14}
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    case = Case.objects.get(kind=CaseKind.PHANTOM_INVENTORY)
    numbers = case.details["anomaly"]["numbers"]
    assert (case.sku_id, numbers["tests"], numbers["rate_per_day"], numbers["gap_days"]) == (emptied.pk, 20, 2.0, 7.0)
    # e^-14 = 1 in 1.2 million, against 1% / 20 tested.
    assert numbers["model"] == "poisson" and numbers["log_p"] == -14.0


def test_many_positions_tested_need_a_longer_run(default_routing, till, region):
    """One run of 6 days at 1 sale a day (P = 0.0025) is flagged alone at a 1%
    false discovery rate, not among 10 positions tested (0.0025 > 1% / 10)."""
    store = LocationFactory(code="S001", region=region)
    quiet = SKUFactory(code="QUIET")
    lines(till, store, quiet, range(6, 34))
    Position.objects.create(location=store, sku=quiet, available=5)
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    assert Case.objects.filter(kind=CaseKind.PHANTOM_INVENTORY, status=Case.Status.OPEN).count() == 1

    for n in range(9):
        sku = SKUFactory(code=f"BUSY{n}")
        lines(till, store, sku, range(0, 30))
        Position.objects.create(location=store, sku=sku, available=5)
    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)
    assert Case.objects.filter(kind=CaseKind.PHANTOM_INVENTORY, status=Case.Status.OPEN).count() == 0



def test_a_fast_seller_quiet_since_the_morning_counts_todays_sales(default_routing, till, region):
    """Today's lines are not in the sales summary: they are added to the position's whole days."""
    store = LocationFactory(code="S001", region=region)
    fast = SKUFactory(code="FAST")
    # 20 sales a day for 40 days, today's by 00:19 (NOW is noon).
    InventoryEvent.objects.bulk_create([
        InventoryEventFactory.build(source=till, location=store, sku=fast, type="sale", quantity=1,
                                    occurred_at=NOW - timedelta(days=d, hours=12, minutes=-n),
                                    received_at=NOW - timedelta(days=d), transaction_id=f"fast-{d}-{n}")
        for d in range(40) for n in range(20)
    ])
    Position.objects.create(location=store, sku=fast, available=30)

    run_reconciliation(CaseKind.PHANTOM_INVENTORY, now=NOW)

    numbers = Case.objects.get(kind=CaseKind.PHANTOM_INVENTORY).details["anomaly"]["numbers"]
    assert numbers["sale_days"] == 40 and numbers["rate_per_day"] == 20.0
    assert numbers["gap_days"] == 0.49  # 11 h 41 min

# ------------------------------------------------------------- outliers

def test_a_store_adjusting_far_more_than_the_chain_is_an_outlier(default_routing, till, region):
    sku = SKUFactory()
    stores = [LocationFactory(code=f"S{n:03d}", region=region) for n in range(10)]
    for n, store in enumerate(stores):
        # Every store adjusts 4 to 6 times a week for 9 weeks; S009 30 times in the last 7 days.
        for week in range(9):
            count = 30 if (n == 9 and week == 0) else 4 + (n + week) % 3
            lines(till, store, sku, [week * 7 + 0.1 * i + 0.5 for i in range(count)], type="adjustment")

    run_reconciliation(CaseKind.ADJUSTMENT_OUTLIER, now=NOW)

    case = Case.objects.get(kind=CaseKind.ADJUSTMENT_OUTLIER)
    assert case.location_id == stores[9].pk and case.owner.code == "REGIONAL-OPS"
    numbers = case.details["anomaly"]["numbers"]
    # Its last 4 weeks: 30 + 5 + 6 + 4 = 45; the other stores' 19 to 21: median 20, MAD 1,
    # below what chance spreads 20 adjustments (a Poisson's MAD, 0.6745 sqrt(20)): (45 - 20) / sqrt(20).
    assert numbers["recent"] == 45 and numbers["chain_median"] == 20
    assert numbers["chain_score"] == pytest.approx(25 / 20 ** 0.5, abs=1e-3)
    # Its last 7 days against its own 8 weeks before (4 to 6, median 5).
    assert numbers["observed"] == 30 and numbers["own_median"] == 5 and numbers["own_score"] > 3.5
    assert numbers["weekly"][-1] == 30 and len(numbers["weekly"]) == 9
    assert case.summary == "S009 made 45 stock adjustments in the last 4 weeks, far more than the chain's median of 20"
    assert case.details["anomaly"]["series"]["marked"] == [5, 6, 7, 8]
    assert case.details["anomaly"]["baseline"] == (
        "The chain's stores made a median of 20 adjustments in the last 4 weeks. "
        "In its own 8 weeks before the last 7 days: a median of 5 a week.")

    # Four weeks on, with no new adjustments, S009 is back to normal: the case clears.
    run_reconciliation(CaseKind.ADJUSTMENT_OUTLIER, now=NOW + timedelta(days=28))
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED


def test_a_cashier_refunding_far_more_than_usual_is_an_outlier(default_routing, region):
    till, erp = SourceSystemFactory(code="POS-A"), SourceSystemFactory(code="ERP")
    store = LocationFactory(code="S001", region=region)
    steps, n = [], 0
    for cashier, per_week in (("C1", 2), ("C2", 3), ("C3", 2), ("C4", 3), ("C5", 2), ("C6", 2)):
        for week in range(6):
            count = 16 if (cashier == "C6" and week == 0) else per_week
            for i in range(count):
                n += 1
                at = NOW - timedelta(days=week * 7 + 1, hours=i)
                steps.append({"transaction_id": f"r{n}", "journey": "return_to_refund", "business_id": f"RET-{n}",
                              "step": "received", "occurred_at": (at - timedelta(hours=2)).isoformat(),
                              "location": store.code})
                steps.append({"transaction_id": f"f{n}", "journey": "return_to_refund", "business_id": f"RET-{n}",
                              "step": "refunded", "occurred_at": at.isoformat(), "cashier": cashier})
    ingest_steps(till, steps, received_at=NOW)

    run_reconciliation(CaseKind.REFUND_OUTLIER, now=NOW)

    case = Case.objects.get(kind=CaseKind.REFUND_OUTLIER)
    assert (case.location_id, case.reference, case.severity) == (store.pk, "cashier C6", 2)
    # Its last 4 weeks: 16 + 2 + 2 + 2 = 22; the others' 8 or 12: median 10.
    assert case.details["anomaly"]["numbers"]["chain_median"] == 10
    assert case.summary.startswith("Cashier C6 at S001 made 22 refunds in the last 4 weeks")
    assert erp  # the ERP is there, as it is when refunds come from it


def test_return_events_count_for_the_cashier_who_rang_them_up(default_routing, till, region):
    store, sku = LocationFactory(code="S002", region=region), SKUFactory()
    events = []
    for cashier, per_week in (("K1", 2), ("K2", 2), ("K3", 3), ("K4", 2), ("K5", 20)):
        for week in range(5):
            count = per_week if week < 4 else 2
            events += [InventoryEventFactory.build(
                source=till, location=store, sku=sku, type="return", from_state=None, to_state="returned",
                cashier=cashier, occurred_at=NOW - timedelta(days=week * 7 + 1, hours=i), received_at=NOW,
                transaction_id=f"ret-{cashier}-{week}-{i}") for i in range(count)]
    events.append(InventoryEventFactory.build(source=till, location=store, sku=sku, type="return", cashier="",
                                              occurred_at=NOW - timedelta(days=1), received_at=NOW))
    InventoryEvent.objects.bulk_create(events)

    run_reconciliation(CaseKind.REFUND_OUTLIER, now=NOW)

    case = Case.objects.get(kind=CaseKind.REFUND_OUTLIER)
    # K5: 80 in its last 4 weeks; the others 8, 8, 12, 8.
    assert (case.location_id, case.reference) == (store.pk, "cashier K5")
    assert case.details["anomaly"]["numbers"]["recent"] == 80


def test_a_return_rung_up_and_refunded_counts_once_and_chance_is_no_outlier(default_routing, till, region):
    store, sku = LocationFactory(code="S003", region=region), SKUFactory()
    events, steps = [], []
    # Weeks ago 6 to 1 and the last 7 days: K1 4, 5, 6, 4, 5, 6 then 11 (chance at 5 a week), K2 the same then 20.
    for cashier, weekly in (("K1", (11, 6, 5, 4, 6, 5, 4)), ("K2", (20, 6, 5, 4, 6, 5, 4))):
        for week, count in enumerate(weekly):
            for i in range(count):
                at = NOW - timedelta(days=week * 7 + 1, hours=i)
                reference = f"RET-{cashier}-{week}-{i}"  # the till's receipt names no journey
                events.append(InventoryEventFactory.build(
                    source=till, location=store, sku=sku, type="return", from_state=None, to_state="returned",
                    cashier=cashier, reference=f"{store.code}/1/{week}{i}", occurred_at=at, received_at=NOW,
                    transaction_id=f"ret-{cashier}-{week}-{i}"))
                steps += [{"transaction_id": f"r-{reference}", "journey": "return_to_refund", "business_id": reference,
                           "step": "received", "occurred_at": at.isoformat(), "location": store.code},
                          {"transaction_id": f"f-{reference}", "journey": "return_to_refund", "business_id": reference,
                           "step": "refunded", "occurred_at": (at + timedelta(minutes=5)).isoformat(),
                           "cashier": cashier}]
    InventoryEvent.objects.bulk_create(events)
    ingest_steps(till, steps, received_at=NOW)

    run_reconciliation(CaseKind.REFUND_OUTLIER, now=NOW)

    case = Case.objects.get(kind=CaseKind.REFUND_OUTLIER)
    assert case.reference == "cashier K2"
    numbers = case.details["anomaly"]["numbers"]
    assert numbers["weekly"][-4:] == [4, 5, 6, 20]  # each return once, not its event and its refund step
    # (20 - 5) / sqrt(5): the Poisson's spread, not the MAD of 1 of three lucky weeks.
    assert numbers["own_score"] == pytest.approx(15 / 5 ** 0.5, abs=1e-3)


def test_a_cashier_is_judged_on_their_own_weeks_only_once_there_are_enough(default_routing, till, region):
    """A clean simulation's cashier: 1 refund in each of their first three
    weeks, then 6 in the last 7 days (chance, at about 4 a week). Three thin
    weeks are no usual week to judge by (RECONCILE_OUTLIER_MIN_OWN_WEEKS, 6);
    six weeks of 1 are, and 6 is then far more than usual."""
    store, sku = LocationFactory(code="S004", region=region), SKUFactory()

    def refunds(cashier, weekly, first_week=0):
        InventoryEvent.objects.bulk_create([InventoryEventFactory.build(
            source=till, location=store, sku=sku, type="return", from_state=None, to_state="returned",
            cashier=cashier, occurred_at=NOW - timedelta(days=week * 7 + 1, hours=i), received_at=NOW,
            transaction_id=f"ret-{cashier}-{week}-{i}")
            for week, count in enumerate(weekly, start=first_week) for i in range(count)])

    refunds("K1", (6, 1, 1, 1))
    for cashier in ("K2", "K3", "K4"):
        refunds(cashier, (4, 3, 5, 4))
    run_reconciliation(CaseKind.REFUND_OUTLIER, now=NOW)
    assert not Case.objects.filter(kind=CaseKind.REFUND_OUTLIER).exists()

    refunds("K1", (1, 1, 1), first_week=4)  # three more weeks of 1, before those
    run_reconciliation(CaseKind.REFUND_OUTLIER, now=NOW)
    case = Case.objects.get(kind=CaseKind.REFUND_OUTLIER)
    numbers = case.details["anomaly"]["numbers"]
    assert (case.reference, numbers["own_median"], numbers["own_score"]) == ("cashier K1", 1, 5.0)
    assert case.summary == "Cashier K1 at S004 made 6 refunds in the last 7 days, far more than its usual 1 a week"


# ------------------------------------------------------------- rejection spikes

def test_the_p_chart_judges_a_small_and_a_large_source_alike(default_routing):
    big, small, fine = (SourceSystemFactory(code=code) for code in ("BIG", "SMALL", "FINE"))
    today = NOW.date()
    for source, (received, rejected) in ((big, (200, 20)), (small, (25, 1)), (fine, (200, 3))):
        IngestDay.objects.bulk_create(
            [IngestDay(source=source, day=today - timedelta(days=d), received=1000, rejected=10)
             for d in range(1, 29)]
            + [IngestDay(source=source, day=today, received=received, rejected=rejected)])

    run_reconciliation(CaseKind.REJECTION_SPIKE, now=NOW)

    case = Case.objects.get(kind=CaseKind.REJECTION_SPIKE)
    # p-bar about 1%: limit for 200 events 1% + 3 sqrt(0.0099 / 200) = 3.1%; BIG's 10% is beyond it.
    # SMALL's 1 of 25 (4%) is within its wider limit (1% + 3 sqrt(0.0099 / 25) = 7%).
    assert (case.source_id, case.reference, case.owner.code) == (big.pk, "BIG", "INTEGRATION")
    numbers = case.details["anomaly"]["numbers"]
    assert numbers["limit"] == pytest.approx(0.0311, abs=1e-4) and numbers["p"] == 0.1
    assert case.details["anomaly"]["series"]["marked"] == [28]
    assert case.summary == "BIG had 10% of today's events refused (20 of 200), against 1% usually"

    # The day after, BIG is back to its usual rate: the case clears.
    IngestDay.objects.create(source=big, day=today + timedelta(days=1), received=500, rejected=5)
    run_reconciliation(CaseKind.REJECTION_SPIKE, now=NOW + timedelta(days=1))
    case.refresh_from_db()
    assert case.status == Case.Status.RESOLVED
