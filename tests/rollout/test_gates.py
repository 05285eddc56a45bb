"""The gate rules (rollout.gates, rollout.evaluation): order, evidence,
steady duration, baselines, waivers, stale sign-offs, go/no-go."""
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from controltower.models import Role
from rollout import gates
from rollout.evaluation import evaluate_wave
from rollout.models import Evaluation, Gate, GateKind, GoNoGo, Waiver, Wave
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
    return WaveFactory(name="North", stores=[store])


def gate_of(wave, kind):
    return Gate.objects.select_related("template", "wave").get(wave=wave, template__kind=kind)


def test_gates_open_in_order_and_a_later_gate_cannot_pass_first(wave, store, gauge):
    first = GateTemplateFactory(program=wave.program, kind=GateKind.DATA_READINESS)
    second = GateTemplateFactory(program=wave.program, kind=GateKind.TRAINING_COMPLETE)
    CriterionFactory(template=first, threshold=Decimal("95"))
    gauge.set({store: 90})

    evaluate_wave(wave, at=T0)

    data, training = gate_of(wave, GateKind.DATA_READINESS), gate_of(wave, GateKind.TRAINING_COMPLETE)
    assert (data.status, training.status) == (Gate.Status.OPEN, Gate.Status.WAITING)
    # Even forced open, the training gate does not pass before data readiness.
    Gate.objects.filter(pk=training.pk).update(status=Gate.Status.OPEN)
    assert gates.try_pass(training, T0) is False
    assert Gate.objects.get(pk=training.pk).status == Gate.Status.OPEN
    Gate.objects.filter(pk=training.pk).update(status=Gate.Status.WAITING)

    gauge.set({store: 99}, since=T0 + HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)

    data.refresh_from_db()
    training.refresh_from_db()
    assert data.status == Gate.Status.PASSED and data.passed_at == T0 + 2 * HOUR
    assert training.status == Gate.Status.PASSED  # no criteria, no sign-off: passes once open
    assert second.gates.get().opened_at == T0 + 2 * HOUR


def test_each_run_keeps_its_evidence(wave, store, gauge):
    template = GateTemplateFactory(program=wave.program, required_roles=[Role.FINANCE])
    criterion = CriterionFactory(template=template, threshold=Decimal("95"))
    gauge.set({store: 90})
    evaluate_wave(wave, at=T0)
    gauge.set({store: 96}, since=T0 + HOUR)
    evaluate_wave(wave, at=T0 + 24 * HOUR)

    evidence = list(Evaluation.objects.filter(criterion=criterion).order_by("at"))
    assert [(e.at, e.value, e.sample, e.passed) for e in evidence] == [
        (T0, Decimal("90"), 1, False),
        (T0 + 24 * HOUR, Decimal("96"), 1, True),
    ]
    # The criteria pass, but finance has not signed: the gate stays open.
    assert gate_of(wave, template.kind).status == Gate.Status.OPEN


def test_no_data_fails_and_says_so(wave, gauge):
    CriterionFactory(template=GateTemplateFactory(program=wave.program))

    [evaluation] = evaluate_wave(wave, at=T0)

    assert evaluation.value is None and evaluation.passed is False and "no data" in evaluation.note


def test_a_steady_criterion_passes_only_after_holding_for_its_hours(wave, store, gauge):
    criterion = CriterionFactory(template=GateTemplateFactory(program=wave.program), steady_hours=3)
    gauge.set({store: 97})

    results = [evaluate_wave(wave, at=T0 + n * HOUR)[0] for n in range(3)]
    assert [e.passed for e in results] == [False, False, False]
    assert results[1].note == "met for 1.0 of 3 steady hours"

    [held] = evaluate_wave(wave, at=T0 + 3 * HOUR)
    assert held.passed is True
    assert gate_of(wave, criterion.template.kind).status == Gate.Status.PASSED


def test_a_miss_restarts_the_steady_clock(wave, store, gauge):
    CriterionFactory(template=GateTemplateFactory(program=wave.program), steady_hours=2)
    gauge.set({store: 97})
    evaluate_wave(wave, at=T0)
    gauge.set({store: 80}, since=T0 + HOUR)
    evaluate_wave(wave, at=T0 + HOUR)
    gauge.set({store: 97}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)

    [after_miss] = evaluate_wave(wave, at=T0 + 3 * HOUR)
    assert after_miss.passed is False  # met since T0+2h only: 1 of 2 hours
    [held] = evaluate_wave(wave, at=T0 + 4 * HOUR)
    assert held.passed is True


def test_no_worse_than_the_pilot(store, gauge):
    pilot_store = LocationFactory(code="P001")
    pilot = WaveFactory(name="Pilot", kind=Wave.Kind.PILOT, order=1, stores=[pilot_store])
    wave = WaveFactory(program=pilot.program, name="North", order=2, stores=[store])
    CriterionFactory(template=GateTemplateFactory(program=pilot.program), baseline="pilot",
                     threshold=Decimal("-0.5"))
    gauge.set({pilot_store: 97, store: 96})

    [worse] = evaluate_wave(wave, at=T0)
    assert (worse.value, worse.baseline_value, worse.threshold, worse.passed) == (
        Decimal("96"), Decimal("97"), Decimal("96.5"), False)

    gauge.set({pilot_store: 97, store: Decimal("96.6")}, since=T0 + HOUR)
    [close_enough] = evaluate_wave(wave, at=T0 + 2 * HOUR)
    assert close_enough.passed is True


def test_no_worse_than_before_cutover(wave, store, gauge):
    template = GateTemplateFactory(program=wave.program, kind=GateKind.HYPERCARE_EXIT)
    CriterionFactory(template=template, baseline="before_cutover", threshold=Decimal("0"), window_hours=24)
    gauge.set({store: 98})

    [not_cut_over] = evaluate_wave(wave, at=T0)
    assert not_cut_over.passed is False and "has not cut over" in not_cut_over.note

    wave.actual_cutover = date(2026, 11, 3)
    wave.save()
    gauge.set({store: 96}, since=datetime(2026, 11, 3, 6, tzinfo=dt_timezone.utc))
    [after] = evaluate_wave(wave, at=datetime(2026, 11, 5, tzinfo=dt_timezone.utc))
    assert (after.value, after.baseline_value, after.passed) == (Decimal("96"), Decimal("98"), False)


@pytest.fixture
def pmo():
    return make_user(Role.PMO, username="pmo-asks"), make_user(Role.PMO, username="pmo-approves")


def test_a_waiver_needs_a_second_person_and_an_expiry(wave, store, gauge, pmo):
    asker, approver = pmo
    criterion = CriterionFactory(template=GateTemplateFactory(program=wave.program))
    gauge.set({store: 90})
    evaluate_wave(wave)
    gate = gate_of(wave, criterion.template.kind)

    with pytest.raises(ValidationError, match="expiry"):
        gates.request_waiver(gate, criterion, user=asker, reason="Supplier fix next week", expires_at=None)
    from django.utils import timezone

    waiver = gates.request_waiver(gate, criterion, user=asker, reason="Supplier fix next week",
                                  expires_at=timezone.now() + timedelta(days=7))
    with pytest.raises(ValidationError, match="cannot approve"):
        gates.approve_waiver(waiver, user=asker)
    with pytest.raises(PermissionDenied):
        gates.approve_waiver(waiver, user=make_user(Role.FINANCE))
    # The database holds the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        Waiver.objects.filter(pk=waiver.pk).update(approved_by=asker)

    gates.approve_waiver(waiver, user=approver)

    gate.refresh_from_db()
    assert gate.status == Gate.Status.PASSED  # failing but waived, no sign-off needed
    [state] = gates.gate_state(gate).criteria
    assert state.waived and not state.passed  # shown as waived, never as green


def test_an_expired_waiver_stops_counting_and_says_so(wave, store, gauge, pmo):
    asker, approver = pmo
    template = GateTemplateFactory(program=wave.program, required_roles=[Role.FINANCE])
    criterion = CriterionFactory(template=template)
    gauge.set({store: 90})
    evaluate_wave(wave, at=T0)
    gate = gate_of(wave, template.kind)
    waiver = Waiver.objects.create(gate=gate, criterion=criterion, reason="Known gap", requested_by=asker,
                                   approved_by=approver, approved_at=T0, expires_at=T0 + 24 * HOUR)

    assert gates.gate_state(gate, T0 + HOUR).criteria[0].waived
    later = gates.gate_state(gate, T0 + 25 * HOUR)
    assert not later.criteria[0].waived
    assert f"{criterion}: failing (its waiver expired)" in later.blockers
    [evaluation] = evaluate_wave(wave, at=T0 + 25 * HOUR)
    assert evaluation.waived is False
    assert waiver.is_live(T0 + 25 * HOUR) is False


def test_a_sign_off_goes_stale_when_a_criterion_turns_red_after_it(wave, store, gauge):
    finance = make_user(Role.FINANCE, username="fin")
    template = GateTemplateFactory(program=wave.program, required_roles=[Role.FINANCE, Role.INTEGRATION_ADMIN])
    CriterionFactory(template=template)
    gauge.set({store: 97})
    evaluate_wave(wave, at=T0)
    gate = gate_of(wave, template.kind)
    gates.sign_off(gate, user=finance, role=Role.FINANCE, comment="Numbers reconcile", at=T0 + HOUR)
    assert gates.gate_state(gate, T0 + HOUR).missing_roles == [Role.INTEGRATION_ADMIN]

    gauge.set({store: 90}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)
    gauge.set({store: 97}, since=T0 + 3 * HOUR)
    evaluate_wave(wave, at=T0 + 3 * HOUR)  # green again: the sign-off stays stale

    state = gates.gate_state(gate, T0 + 3 * HOUR)
    assert [s.stale for s in state.sign_offs] == [True]
    assert state.missing_roles == [Role.FINANCE, Role.INTEGRATION_ADMIN]

    gates.sign_off(gate, user=finance, role=Role.FINANCE, at=T0 + 4 * HOUR)
    assert gates.gate_state(gate, T0 + 4 * HOUR).missing_roles == [Role.INTEGRATION_ADMIN]


def test_a_sign_off_made_on_red_is_not_stale_while_it_stays_red(wave, store, gauge):
    finance = make_user(Role.FINANCE, username="fin")
    template = GateTemplateFactory(program=wave.program, required_roles=[Role.FINANCE])
    CriterionFactory(template=template)
    gauge.set({store: 90})
    evaluate_wave(wave, at=T0)
    gate = gate_of(wave, template.kind)
    gates.sign_off(gate, user=finance, role=Role.FINANCE, at=T0 + HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)

    assert [s.stale for s in gates.gate_state(gate, T0 + 2 * HOUR).sign_offs] == [False]


def test_who_may_sign_off(wave, people):
    template = GateTemplateFactory(program=wave.program, required_roles=[Role.FINANCE, Role.REGIONAL_OPS])
    evaluate_wave(wave)
    gate = gate_of(wave, template.kind)

    with pytest.raises(PermissionDenied):
        gates.sign_off(gate, user=people[Role.PLANNER].owner, role=Role.FINANCE)
    with pytest.raises(PermissionDenied):  # regional ops of another region
        gates.sign_off(gate, user=people[Role.REGIONAL_OPS].outsider, role=Role.REGIONAL_OPS)
    with pytest.raises(ValidationError, match="needs no sign-off"):
        gates.sign_off(gate, user=people[Role.INTEGRATION_ADMIN].owner, role=Role.INTEGRATION_ADMIN)


def cutover_setup(wave, store, gauge):
    template = GateTemplateFactory(program=wave.program, kind=GateKind.CUTOVER, required_roles=[Role.FINANCE])
    criterion = CriterionFactory(template=template)
    evaluate_wave(wave, at=T0)
    return gate_of(wave, GateKind.CUTOVER), criterion


def test_go_no_go_is_recorded_with_the_evidence_of_the_moment(wave, store, gauge):
    executive, finance = make_user(Role.EXECUTIVE, username="exec"), make_user(Role.FINANCE, username="fin")
    gauge.set({store: 90})
    gate, criterion = cutover_setup(wave, store, gauge)

    with pytest.raises(ValidationError, match="Not ready to go"):
        gates.record_go_no_go(gate, user=executive, decision=GoNoGo.Decision.GO, at=T0 + HOUR)
    with pytest.raises(PermissionDenied):
        gates.record_go_no_go(gate, user=finance, decision=GoNoGo.Decision.NO_GO)
    no_go = gates.record_go_no_go(gate, user=executive, decision=GoNoGo.Decision.NO_GO,
                                  comment="Accuracy too low", at=T0 + HOUR)
    assert no_go.evidence["criteria"][0]["value"] == "90.0000"
    assert no_go.evidence["criteria"][0]["passed"] is False
    assert no_go.evidence["missing_roles"] == [Role.FINANCE]

    gauge.set({store: 99}, since=T0 + 2 * HOUR)
    evaluate_wave(wave, at=T0 + 2 * HOUR)
    gates.sign_off(gate, user=finance, role=Role.FINANCE, at=T0 + 3 * HOUR)
    gate.refresh_from_db()
    assert gate.status == Gate.Status.OPEN  # the last decision is no-go
    go = gates.record_go_no_go(gate, user=executive, decision=GoNoGo.Decision.GO, at=T0 + 4 * HOUR)

    assert go.evidence["criteria"][0]["value"] == "99.0000" and go.evidence["sign_offs"][0]["role"] == "finance"
    gate.refresh_from_db()
    wave.refresh_from_db()
    assert gate.status == Gate.Status.PASSED and wave.status == Wave.Status.LIVE


def test_only_the_cutover_gate_takes_a_decision(wave):
    template = GateTemplateFactory(program=wave.program)
    evaluate_wave(wave)
    with pytest.raises(ValidationError, match="Only the cutover gate"):
        gates.record_go_no_go(gate_of(wave, template.kind), user=make_user(Role.EXECUTIVE),
                              decision=GoNoGo.Decision.GO)
