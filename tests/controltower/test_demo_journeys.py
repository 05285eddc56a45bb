"""The demo's journeys (controltower.demo.journeys): 35 days of each kind,
posted through inventory.journeys, with fallout, substitutions, stuck
journeys and overrides; loaded once."""
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from controltower.demo.retailer import load_demo
from controltower.metrics import Scope, Window, measure
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from inventory.models import Journey, JourneyKind, JourneyStep, RejectedEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield load_demo(size="small")
        transaction.set_rollback(True)


def test_every_journey_kind_over_35_days(demo):
    now = timezone.now()
    for kind in JourneyKind.values:
        journeys = Journey.objects.filter(kind=kind)
        assert journeys.exists(), kind
        assert journeys.order_by("started_at").first().started_at < now - timedelta(days=34), kind
    assert demo.created["journey steps"] == JourneyStep.objects.count()
    assert not RejectedEvent.objects.filter(feed="journeys").exists()
    orders = Journey.objects.filter(kind=JourneyKind.ORDER)
    assert set(orders.values_list("channel", flat=True)) == {"bopis", "web", "ship_from_store"}
    assert orders.filter(state="fallout").exclude(fallout_reason="").exists()
    assert orders.filter(substituted=True).exists()


def test_stuck_journeys_open_cases(demo, default_routing):
    assert Journey.objects.filter(kind=JourneyKind.ORDER, state="ready_for_pickup", due_at__lt=timezone.now()).exists()
    run_reconciliation(CaseKind.JOURNEY_STUCK)
    assert Case.objects.filter(kind=CaseKind.JOURNEY_STUCK, reference__startswith="order ").exists()


def test_the_kpis_have_values(demo):
    now = timezone.now()
    window = Window(since=now - timedelta(days=30), until=now)
    for key in ("order_fallout_rate", "pickup_readiness_accuracy", "order_to_ready_time",
                "refund_received_to_refunded", "refund_refunded_to_settled", "promotion_override_frequency"):
        assert measure(key, Scope(), window).value is not None, key


def test_refunds_are_rung_up_at_the_store_by_a_cashier(demo):
    refunds = JourneyStep.objects.filter(step="refunded", journey__kind=JourneyKind.RETURN)
    assert refunds.exists()
    assert not refunds.filter(cashier="").exists()
    for step in refunds.select_related("location", "journey__location")[:50]:
        assert step.location == step.journey.location
        assert step.cashier.startswith(f"{step.location.code}-C")
    assert refunds.values("cashier").distinct().count() > 3  # the shifts' cashiers, at several stores


def test_a_second_load_posts_no_journey_step(demo):
    before = JourneyStep.objects.count()
    again = load_demo(size="small")
    assert JourneyStep.objects.count() == before
    assert not again.created.get("journey steps")
