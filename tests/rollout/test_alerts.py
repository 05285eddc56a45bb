"""Rollout alerts (rollout.alerts): a criterion turning red reaches the PMO
once, through a real Apprise json:// channel, retried when it fails; the
sign-offs it makes stale, a gate open for sign-off, waivers about to lapse."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest

from controltower import alert_delivery, alerts
from controltower.alert_tasks import deliver
from controltower.models import Alert, Delivery, Role
from rollout import alerts as rollout_alerts, gates
from rollout.evaluation import evaluate_wave
from rollout.models import Gate, GateKind, Waiver
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RegionFactory

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=dt_timezone.utc)
HOUR = timedelta(hours=1)


@pytest.fixture
def store():
    return LocationFactory(code="S100", region=RegionFactory(code="NORTH"))


@pytest.fixture
def wave(store):
    return WaveFactory(name="North", stores=[store], planned_cutover=date(2026, 12, 1))


@pytest.fixture
def pmo():
    return make_user(Role.PMO, username="pmo")


def test_a_red_criterion_reaches_the_pmo_once_retried_until_its_channel_answers(
        wave, store, gauge, pmo, endpoint, retried_inline, django_capture_on_commit_callbacks):
    alerts.add_channel(endpoint.url(), user=pmo)
    make_user(Role.PLANNER, username="planner")  # not subscribed to gate alerts
    # The gate waits for finance's sign-off, so it stays open while green.
    template = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS, required_roles=["finance"])
    CriterionFactory(template=template, threshold=Decimal("95"))
    endpoint.statuses = [500, 500]  # the endpoint fails twice, then takes it

    gauge.set({store: 99})
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_wave(wave, at=T0)  # green: nothing to tell
    assert endpoint.received == []

    gauge.set({store: 90}, since=T0 + HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_wave(wave, at=T0 + 2 * HOUR)  # turns red
        evaluate_wave(wave, at=T0 + 3 * HOUR)  # still red: no second message
    alert_delivery.send_unsent(now=T0 + 3 * HOUR + timedelta(minutes=20))  # the sweep finds nothing left

    assert len(endpoint.received) == 3  # two refused, the third accepted
    assert "turned red" in endpoint.received[-1]["title"]
    assert "measured 90" in endpoint.received[-1]["message"]
    alert = Alert.objects.get()
    assert alert.user == pmo
    delivery = alert.deliveries.get()
    assert (delivery.state, delivery.attempts) == (Delivery.State.SENT, 3)


def test_a_channel_that_keeps_failing_is_shown_failing_then_swept(wave, store, gauge, pmo, endpoint, retried_inline,
                                                                    django_capture_on_commit_callbacks):
    alerts.add_channel(endpoint.url(), user=pmo)
    CriterionFactory(template=GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS))
    endpoint.statuses = [500] * (deliver.max_retries + 2)
    gauge.set({store: 90})
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_wave(wave, at=T0)
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts) == (Delivery.State.FAILING, deliver.max_retries + 1)
    assert "error=500" in delivery.answer and "WARNING" not in delivery.answer

    assert alert_delivery.send_unsent(now=delivery.created_at + timedelta(minutes=5)) == 0  # its retries' time
    assert alert_delivery.send_unsent(now=delivery.created_at + timedelta(minutes=20)) == 0  # refused once more
    assert alert_delivery.send_unsent(now=delivery.created_at + timedelta(minutes=30)) == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert alert_delivery.send_unsent(now=delivery.created_at + timedelta(minutes=40)) == 0


def test_red_again_after_green_is_a_new_transition_and_no_data_is_not_red(wave, store, gauge, pmo):
    CriterionFactory(template=GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS,
                                                  required_roles=["finance"]))
    evaluate_wave(wave, at=T0)  # no data
    gauge.set({store: 90}, since=T0 + HOUR)
    evaluate_wave(wave, at=T0 + HOUR)  # red
    gauge.set({store: 99}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)  # green
    gauge.set({store: 90}, since=T0 + 3 * HOUR)
    evaluate_wave(wave, at=T0 + 3 * HOUR)  # red again
    assert [a.created_at for a in Alert.objects.filter(user=pmo).order_by("created_at")] == [
        T0 + HOUR, T0 + 3 * HOUR]


def test_a_red_criterion_tells_who_signed_off_before_it(wave, store, gauge, pmo):
    lead = make_user(Role.FINANCE, username="fin")
    template = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS,
                                   required_roles=["finance", "integration_admin"])
    CriterionFactory(template=template)
    gauge.set({store: 99})
    evaluate_wave(wave, at=T0)
    assert Alert.objects.filter(user=lead, key__startswith="sign-off-waiting:").count() == 1
    gates.sign_off(Gate.objects.get(wave=wave), user=lead, role=Role.FINANCE, at=T0 + HOUR)
    gauge.set({store: 90}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)
    stale = Alert.objects.get(user=lead, key__startswith="sign-off-stale:")
    assert "went stale" in stale.subject


def test_waivers_lapsing_within_a_week_or_before_cutover_are_told_once(wave, store, gauge, pmo):
    approver = make_user(Role.ADMIN, username="boss")
    template = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS)
    criterion = CriterionFactory(template=template)
    evaluate_wave(wave, at=T0)
    gate = Gate.objects.get(wave=wave)
    now = datetime(2026, 11, 10, 8, tzinfo=dt_timezone.utc)

    def waiver(expires_at):
        return Waiver.objects.create(gate=gate, criterion=criterion, reason="Vendor fix", expires_at=expires_at,
                                     requested_by=pmo, approved_by=approver, approved_at=now - HOUR)

    soon = waiver(now + timedelta(days=3))
    before_cutover = waiver(datetime(2026, 11, 28, tzinfo=dt_timezone.utc))  # cutover 1 December
    waiver(datetime(2026, 12, 20, tzinfo=dt_timezone.utc))  # after the cutover, weeks away

    assert rollout_alerts.lapsing_waivers(now) == 2
    assert rollout_alerts.lapsing_waivers(now + HOUR) == 0  # a second sweep tells nothing new
    keys = set(Alert.objects.filter(user__in=[pmo, approver]).values_list("key", flat=True))
    assert keys == {f"waiver-lapsing:{soon.pk}", f"waiver-lapsing:{before_cutover.pk}"}
