"""reservation_not_released: a reservation held beyond its channel's hold time
opens a case per location x SKU x reference, clears when picked or released,
and the tower releases it itself for a source that asks it to."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exceptions.findings import CaseKind
from exceptions.models import Case, CaseHistory, CaseLink
from exceptions.detectors import DETECTORS, beat_schedule
from exceptions.reconciliation import release_expired, run_reconciliation
from inventory.ledger import ingest_events, rebuild_positions
from inventory.models import CONTROL_TOWER_SOURCE, Channel, InventoryEvent, Position, SourceSystem
from tests.conftest import on_postgres
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

KIND = CaseKind.RESERVATION_NOT_RELEASED


class World:
    def __init__(self):
        # The channels as the migration loads them (a transactional test starts without them).
        self.web, _ = Channel.objects.update_or_create(
            code="web", defaults={"name": "Web cart", "hold_minutes": 30, "holds_back_safety_stock": True})
        self.bopis, _ = Channel.objects.update_or_create(
            code="bopis", defaults={"name": "BOPIS", "hold_minutes": 72 * 60, "holds_back_safety_stock": True})
        self.ecom = SourceSystemFactory(code="ECOM", kind=SourceSystem.Kind.ECOM, default_channel=self.web)
        self.store = LocationFactory(code="S001")
        self.sku = SKUFactory(code="SKU00017", unit_cost=Decimal("4.00"))
        self.now = timezone.now()
        self.post("stock", "receipt", 100, 24 * 60, reference="PO1")

    def post(self, txn, type, quantity, minutes_ago, **extra):
        event = {"transaction_id": txn, "type": type, "location": self.store.code, "sku": self.sku.code,
                 "quantity": quantity, "occurred_at": (self.now - timedelta(minutes=minutes_ago)).isoformat(),
                 **extra}
        report = ingest_events(self.ecom, [event])
        assert report.counts["accepted"] == 1, report.results
        return InventoryEvent.objects.get(source=self.ecom, transaction_id=txn)

    def cases(self, **filters):
        return Case.objects.filter(kind=KIND, **filters)

    def reserved(self):
        return Position.objects.get(location=self.store, sku=self.sku).reserved


@pytest.fixture
def world():
    return World()


def test_the_kind_is_scheduled():
    assert KIND in DETECTORS and f"reconcile-{KIND}" in beat_schedule()


def test_an_order_held_beyond_the_web_cart_hold_opens_one_case_and_clears_when_picked(world):
    old = world.post("o1-r", "reserve", 3, 45, reference="ORD-1")  # web (the source's default): 30 min
    world.post("o2-r", "reserve", 2, 10, reference="ORD-2")  # within its hold

    first = run_reconciliation(KIND)
    again = run_reconciliation(KIND)

    case = world.cases().get()
    assert first.opened == [case.pk] and again.opened == [] and again.updated == []
    assert (case.reference, case.quantity_at_risk, case.value_at_risk) == ("ORD-1", 3, Decimal("12.00"))
    assert case.source_id == world.ecom.pk
    assert "held beyond the Web cart hold time of 30 min: never picked or released" in case.summary
    assert case.details["channel"] == "web" and case.details["hold_minutes"] == 30
    assert set(CaseLink.objects.filter(case=case).values_list("object_id", flat=True)) == {old.pk}

    world.post("o1-p", "pick", 3, 1, reference="ORD-1")
    report = run_reconciliation(KIND)
    case.refresh_from_db()
    assert report.resolved == [case.pk] and case.status == Case.Status.RESOLVED


def test_the_reason_names_the_channel_and_picks_its_hold_time(world):
    world.post("o1-r", "reserve", 3, 45, reference="ORD-1", reason="bopis")  # 72 h: not yet
    world.post("o2-r", "reserve", 1, 45, reference="ORD-2", reason="no such channel")  # the source's: web

    run_reconciliation(KIND)

    assert list(world.cases().values_list("reference", flat=True)) == ["ORD-2"]


def test_a_source_without_a_channel_holds_for_the_default_hold(world, settings):
    world.ecom.default_channel = None
    world.ecom.save()
    settings.RECONCILIATION = {**settings.RECONCILIATION, "reservation_hold_minutes": 120}
    world.post("o1-r", "reserve", 3, 100, reference="ORD-1")
    world.post("o2-r", "reserve", 3, 130, reference="ORD-2")

    run_reconciliation(KIND)

    case = world.cases().get()
    assert case.reference == "ORD-2" and case.details["hold_minutes"] == 120
    assert "the default hold time of 2 h 0 min" in case.summary


def test_a_partial_release_leaves_the_rest_overdue(world):
    world.post("o1-r", "reserve", 5, 60, reference="ORD-1")
    world.post("o1-x", "release", 2, 50, reference="ORD-1")  # the customer took 2 out of the cart

    run_reconciliation(KIND)

    assert world.cases().get().quantity_at_risk == 3


def test_unreferenced_reservations_are_consumed_oldest_first(world):
    world.post("a", "reserve", 4, 90)
    world.post("b", "reserve", 3, 5)  # within the hold
    world.post("c", "pick", 4, 2)  # takes the oldest four

    run_reconciliation(KIND)
    assert not world.cases().exists()

    world.post("d", "reserve", 2, 60)  # an old one turns up late
    run_reconciliation(KIND)
    case = world.cases().get()
    assert (case.reference, case.quantity_at_risk) == ("", 2)
    assert "no order reference" in case.summary


def test_a_release_of_another_order_does_not_consume_this_one(world):
    world.post("o1-r", "reserve", 3, 45, reference="ORD-1")
    world.post("o2-x", "release", 3, 40, reference="ORD-2")

    run_reconciliation(KIND)

    assert world.cases().get().reference == "ORD-1"


def test_auto_release_posts_one_ledger_line_of_the_tower_and_resolves_the_case(world):
    world.ecom.releases_expired_reservations = True
    world.ecom.save()
    reserve = world.post("o1-r", "reserve", 3, 45, reference="ORD-1")
    world.post("o2-r", "reserve", 2, 10, reference="ORD-2")
    assert world.reserved() == 5

    report = run_reconciliation(KIND)

    release = InventoryEvent.objects.get(source__code=CONTROL_TOWER_SOURCE)
    assert (release.type, release.quantity, release.reference, release.reason) == ("release", 3, "ORD-1", "hold_expired")
    assert release.transaction_id == f"hold-expired-{reserve.pk}"
    assert release.occurred_at == reserve.occurred_at + timedelta(minutes=30)  # when the hold expired
    assert world.reserved() == 2
    case = world.cases().get()
    assert report.opened == [case.pk] and report.resolved == [case.pk]
    assert case.status == Case.Status.RESOLVED and case.resolution_code == "condition_cleared"
    note = CaseHistory.objects.get(case=case, action="released")
    assert note.note == f"The tower released 3 (hold expired): ledger line CONTROL-TOWER hold-expired-{reserve.pk}."
    assert CaseLink.objects.filter(case=case, object_id=release.pk).exists()

    # Run again: nothing more to release, the case stays resolved; the projection agrees with the ledger.
    assert release_expired() == 0
    run_reconciliation(KIND)
    assert InventoryEvent.objects.filter(source__code=CONTROL_TOWER_SOURCE).count() == 1
    assert rebuild_positions().differences == []


def test_auto_release_is_per_source_and_never_releases_more_than_is_reserved(world):
    pos = SourceSystemFactory(code="POS", kind=SourceSystem.Kind.POS, default_channel=world.web)
    world.ecom.releases_expired_reservations = True
    world.ecom.save()
    world.post("o1-r", "reserve", 5, 45, reference="ORD-1")
    ingest_events(pos, [{"transaction_id": "p1", "type": "reserve", "location": "S001", "sku": "SKU00017",
                         "quantity": 1, "reference": "TILL-1",
                         "occurred_at": (world.now - timedelta(hours=2)).isoformat()}])
    world.post("pick", "pick", 4, 30)  # an unreferenced pick took 4 of the reserved units
    assert world.reserved() == 2

    run_reconciliation(KIND)

    release = InventoryEvent.objects.get(source__code=CONTROL_TOWER_SOURCE)
    assert (release.reference, release.quantity) == ("ORD-1", 2)
    assert world.reserved() == 0
    # The POS reservation is not released by the tower, and what the unreferenced pick
    # took is still outstanding on ORD-1 by its reference: both cases stay open.
    open_cases = dict(world.cases(status=Case.Status.OPEN).values_list("reference", "quantity_at_risk"))
    assert open_cases == {"ORD-1": 3, "TILL-1": 1}
    assert release_expired() == 0  # nothing left in reserved to release


def test_auto_release_after_a_crash_is_a_duplicate_not_a_second_release(world):
    """The transaction id and time come from the ledger: the same release
    posted again (a run that crashed after posting, retried) is a duplicate."""
    world.ecom.releases_expired_reservations = True
    world.ecom.save()
    world.post("o1-r", "reserve", 3, 45, reference="ORD-1")
    run_reconciliation(KIND)
    release = InventoryEvent.objects.get(source__code=CONTROL_TOWER_SOURCE)
    payload = {"transaction_id": release.transaction_id, "type": "release", "location": "S001",
               "sku": "SKU00017", "quantity": 3, "reference": "ORD-1", "reason": "hold_expired",
               "occurred_at": release.occurred_at.isoformat()}

    report = ingest_events(release.source, [payload])

    assert report.results[0].status == "duplicate"
    assert world.reserved() == 0


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_release_once():
    world = World()
    world.ecom.releases_expired_reservations = True
    world.ecom.save()
    for n in range(20):
        world.post(f"o{n}-r", "reserve", 2, 45, reference=f"ORD-{n}")

    results = run_at_once([lambda: run_reconciliation(KIND)] * 2)

    assert not [r for r in results if isinstance(r, Exception)], results
    assert InventoryEvent.objects.filter(source__code=CONTROL_TOWER_SOURCE).count() == 20
    assert world.reserved() == 0
    assert world.cases().count() == 20
    assert not world.cases(status__in=Case.ACTIVE).exists()
    assert rebuild_positions().differences == []
