"""Rollout alerts (rollout.alerts): a criterion turning red reaches the PMO
once, through a real Apprise json:// channel, retried when it fails; the
sign-offs it makes stale, a gate open for sign-off, waivers about to lapse."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest

from controltower import alert_delivery, alerts
from controltower.alert_tasks import deliver
from controltower.models import Alert, AlertKind, Delivery, Role
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


def test_a_red_criterion_reaches_each_subscribed_person_who_acts_on_the_gate_once_retried_until_answered(
        wave, store, gauge, pmo, endpoint, retried_inline, django_capture_on_commit_callbacks):
    finance = make_user(Role.FINANCE, username="fin")  # holds the gate's sign-off role
    manager = make_user(Role.STORE_MANAGER, locations=[store], username="s100")  # holds it, for the wave's store
    elsewhere = make_user(Role.STORE_MANAGER, locations=[LocationFactory(code="S900")], username="s900")
    quiet_pmo = make_user(Role.PMO, username="quiet")  # turned gate criteria off
    admin = make_user(Role.ADMIN, username="root")  # manages the rollout, but does not act on this gate
    alerts.set_kinds_told([kind for kind in AlertKind if kind != AlertKind.CRITERIA_RED], user=quiet_pmo)
    for person in (pmo, finance, manager, elsewhere, quiet_pmo, admin):
        alerts.add_channel(endpoint.url(person.username), user=person)
    # The gate waits for the sign-offs of finance and store managers, so it stays open while green.
    template = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS,
                                   required_roles=["finance", "store_manager"])
    CriterionFactory(template=template, threshold=Decimal("95"))
    gauge.set({store: 99})
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_wave(wave, at=T0)  # green: nothing to tell but the sign-offs awaited
    endpoint.received.clear(), endpoint.paths.clear()
    endpoint.statuses = [500, 500]  # the endpoint fails twice, then takes everything

    gauge.set({store: 90}, since=T0 + HOUR)
    with django_capture_on_commit_callbacks(execute=True):
        evaluate_wave(wave, at=T0 + 2 * HOUR)  # turns red
        evaluate_wave(wave, at=T0 + 3 * HOUR)  # still red: no second message
    alert_delivery.send_unsent(now=T0 + 3 * HOUR + timedelta(minutes=20))  # the sweep finds nothing left

    assert len(endpoint.received) == 3 + 2  # the first refused twice, then one each
    assert sorted(set(endpoint.paths)) == ["/fin", "/pmo", "/s100"]
    assert all("turned red" in body["title"] and "measured 90" in body["message"] for body in endpoint.received)
    red = Alert.objects.filter(key__startswith="criterion-red:")
    assert sorted(red.values_list("user__username", flat=True)) == ["fin", "pmo", "s100"]
    assert {(d.state, d.attempts) for d in Delivery.objects.filter(alert__in=red)} == {
        (Delivery.State.SENT, 3), (Delivery.State.SENT, 1)}


def test_who_signed_off_is_told_once_that_the_red_criterion_made_their_sign_off_stale(wave, store, gauge, pmo):
    finance = make_user(Role.FINANCE, username="fin")
    template = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS,
                                   required_roles=["finance", "integration_admin"])
    CriterionFactory(template=template)
    gauge.set({store: 99})
    evaluate_wave(wave, at=T0)
    gates.sign_off(Gate.objects.get(wave=wave), user=finance, role=Role.FINANCE, at=T0 + HOUR)
    gauge.set({store: 90}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)
    told = Alert.objects.filter(created_at=T0 + 2 * HOUR)
    assert sorted(told.values_list("user__username", flat=True)) == ["fin", "pmo"]  # each once
    assert told.get(user=finance).key.startswith("sign-off-stale:")
    assert "turned red" in told.get(user=finance).subject
    assert told.get(user=pmo).key.startswith("criterion-red:")


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
