"""A sign-off and a go/no-go decision are in the audit trail with what they
said (the waiver and criterion edits: tests/controltower/test_audit.py)."""
import pytest
from auditlog.models import LogEntry

from controltower.models import Role
from rollout import gates
from rollout.evaluation import evaluate_wave
from rollout.models import Gate, GateKind, GoNoGo, SignOff
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, RegionFactory

from .factories import GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db


def test_a_sign_off_and_a_go_no_go_are_in_the_trail():
    wave = WaveFactory(name="North", stores=[LocationFactory(code="S100", region=RegionFactory(code="NORTH"))])
    template = GateTemplateFactory(program=wave.program, kind=GateKind.CUTOVER, required_roles=[Role.FINANCE])
    evaluate_wave(wave)
    gate = Gate.objects.get(wave=wave, template=template)
    finance, executive = make_user(Role.FINANCE), make_user(Role.EXECUTIVE)

    gates.sign_off(gate, user=finance, role=Role.FINANCE, comment="Ledger ready")
    gates.record_go_no_go(gate, user=executive, decision=GoNoGo.Decision.NO_GO, comment="Wait a week")

    [signed] = LogEntry.objects.get_for_object(SignOff.objects.get(gate=gate))
    assert signed.action == LogEntry.Action.CREATE
    assert (signed.changes["person"], signed.changes["role"], signed.changes["comment"]) == (
        ["None", str(finance.pk)], ["None", "finance"], ["None", "Ledger ready"])
    [decided] = LogEntry.objects.get_for_object(GoNoGo.objects.get(gate=gate))
    assert (decided.changes["decided_by"], decided.changes["decision"], decided.changes["comment"]) == (
        ["None", str(executive.pk)], ["None", "no_go"], ["None", "Wait a week"])
