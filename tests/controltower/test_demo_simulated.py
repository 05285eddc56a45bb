"""The full demo (controltower.demo.simulated): the simulator's retailer with
its clock stopped at the load time, the demo logins scoped to its stores,
tokens for its sources, the PMO's gates walked; loaded once. Built here at a
few stores and days (`make demo` loads it at full size)."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min

from controltower.demo.retailer import DemoReport, roll_up_kpis
from controltower.demo.simulated import load_simulated
from controltower.models import ApiToken, KpiDay
from inventory.models import InventoryEvent, SourceSystem
from rollout.models import Gate, GateKind, Simulation, Wave

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 5, 14, 15, 30, tzinfo=dt_timezone.utc)  # a Thursday afternoon
DIMS = {"stores": 9, "skus": 10, "days": 3}


def load():
    report = DemoReport(events_loaded=False)
    load_simulated(42, NOW, report, **DIMS)
    return report


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        report = load()
        roll_up_kpis(report, now=NOW)
        yield report
        transaction.set_rollback(True)


def test_the_clock_stops_at_the_load_time(demo):
    assert demo.events_loaded and demo.ingest["accepted"] > 100
    span = InventoryEvent.objects.aggregate(first=Min("occurred_at"), last=Max("received_at"))
    assert span["last"] <= NOW
    assert NOW - span["last"] < timedelta(hours=2)  # the stores were trading until the load
    # The opening balances, an hour before the first simulated midnight.
    first_midnight = datetime(2026, 5, 12, tzinfo=dt_timezone.utc)
    assert span["first"] == first_midnight - timedelta(hours=1)
    assert demo.first_day == (first_midnight - timedelta(hours=1)).date()
    assert Simulation.objects.get().ends_at == NOW


def test_the_logins_keep_their_names_scoped_to_simulated_stores(demo):
    profiles = {user.username: user.profile for user in get_user_model().objects.select_related("profile")}
    assert sorted(profiles["manager.berlin"].locations.values_list("code", flat=True)) == ["SIMN001", "SIMN002"]
    assert sorted(profiles["manager.paris"].locations.values_list("code", flat=True)) == [
        "SIMS001", "SIMS002", "SIMS003"]
    assert profiles["ops.germany"].region.code == "SIMN"
    assert profiles["ops.germany"].region.name == "North (simulated)"
    assert ("executive", "Executive", "all locations") in demo.logins


def test_every_simulated_source_has_a_token(demo):
    sources = set(SourceSystem.objects.values_list("code", flat=True))
    assert set(demo.tokens) == sources and all(code.startswith("SIM-") for code in sources)
    assert ApiToken.objects.filter(revoked=False).count() == len(sources)


def test_the_pilot_is_live_past_its_cutover_gate_and_the_waves_prepare(demo):
    pilot, *preparing = Wave.objects.order_by("order")
    assert pilot.status == Wave.Status.LIVE
    cutover = Gate.objects.get(wave=pilot, template__kind=GateKind.CUTOVER)
    assert cutover.status == Gate.Status.PASSED
    assert Gate.objects.get(wave=pilot, template__kind=GateKind.HYPERCARE_EXIT).status == Gate.Status.OPEN
    assert [wave.status for wave in preparing] == [Wave.Status.PREPARING] * 2
    for wave in preparing:
        integration = Gate.objects.get(wave=wave, template__kind=GateKind.INTEGRATION_PERFORMANCE)
        assert integration.status == Gate.Status.PASSED


def test_the_kpis_are_rolled_up_over_the_history(demo):
    days = set(KpiDay.objects.values_list("day", flat=True))
    assert min(days) == demo.first_day and max(days) == NOW.date()


def test_a_second_load_posts_nothing(demo):
    before = (InventoryEvent.objects.count(), ApiToken.objects.count(), Gate.objects.count())
    again = load()
    assert not again.events_loaded and again.tokens == {} and not any(again.created.values())
    assert (InventoryEvent.objects.count(), ApiToken.objects.count(), Gate.objects.count()) == before
