"""The gate rules: gates open in order; a gate passes when every criterion
passes or carries a live waiver, every required role has a sign-off that is
not stale, and (the cutover gate) the last go/no-go decision is "go".

Waivers (four eyes, mandatory expiry), sign-offs and go/no-go decisions are
recorded here; the measuring is rollout.evaluation's.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from functools import reduce

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from controltower.locks import lock_rows
from controltower.models import Role
from controltower.permissions import may_decide_go_no_go, may_manage_rollout, may_sign_off

from . import alerts
from .models import Criterion, Evaluation, Gate, GateKind, GoNoGo, SignOff, Waiver, Wave


# --------------------------------------------------------------------------
# Opening gates, in order
# --------------------------------------------------------------------------

def ensure_gates(wave, at=None):
    """Give `wave` one gate per template of its program, and open the first
    gate not passed (the earlier ones must all have passed)."""
    at = at or timezone.now()
    have = set(wave.gates.values_list("template_id", flat=True))
    Gate.objects.bulk_create(  # two runs at once: the unique (wave, template) keeps one
        [Gate(wave=wave, template=template) for template in wave.program.gate_templates.all()
         if template.pk not in have],
        ignore_conflicts=True,
    )
    _open_next(wave, at)


def _open_next(wave, at):
    for gate in wave.gates.select_related("template").order_by("template__order"):
        if gate.status == Gate.Status.PASSED:
            continue
        if gate.status == Gate.Status.WAITING:
            gate.status, gate.opened_at = Gate.Status.OPEN, at
            gate.save(update_fields=["status", "opened_at"])
            alerts.gate_opened(gate, at)
        return


def previous_gate(gate):
    return (
        Gate.objects.filter(wave_id=gate.wave_id, template__order__lt=gate.template.order)
        .select_related("template").order_by("-template__order").first()
    )


# --------------------------------------------------------------------------
# Where a gate stands
# --------------------------------------------------------------------------

@dataclass
class CriterionState:
    criterion: object
    latest: Evaluation | None  # the latest evidence, None: never measured
    waiver: Waiver | None  # the live waiver, if any
    expired_waiver: Waiver | None  # the last waiver that expired, to say so

    @property
    def passed(self):
        return self.latest is not None and self.latest.passed

    @property
    def waived(self):
        """Failing, but covered by a live waiver: shown as waived, never green."""
        return not self.passed and self.waiver is not None

    @property
    def counts(self):
        return self.passed or self.waived


@dataclass
class SignOffState:
    sign_off: SignOff
    stale: bool


@dataclass
class GateState:
    gate: Gate
    criteria: list[CriterionState]
    sign_offs: list[SignOffState]
    missing_roles: list[str]
    decision: GoNoGo | None  # the last go/no-go (cutover gate)
    blockers: list[str] = field(default_factory=list)

    @property
    def passes(self):
        return not self.blockers

    @property
    def sign_off_only(self):
        """No measured criterion, by the PMO's recorded choice: never shown green."""
        return not self.criteria and self.gate.template.sign_off_only


def turned_red_after(evaluations, since):
    """Whether a criterion's evidence (in time order) went red after `since`:
    it did not count at `since` (or was not measured) and later it does not.
    Red is failed and not waived."""
    counted = True
    for evaluation in evaluations:
        if evaluation.at <= since:
            counted = evaluation.counts
        elif not evaluation.counts:
            if counted:
                return True
            counted = False
        else:
            counted = True
    return False


def gate_state(gate, at=None) -> GateState:
    """Where one gate stands at `at` (now)."""
    return gate_states([gate], at)[gate.pk]


def _histories(gates, since, at):
    """{(gate id, criterion id): [Evaluation]} in time order: the evidence that
    matters from since[gate id] to `at`, i.e. the last evaluation at or
    before `since`, then every one after it. Two queries for any number of gates."""
    last = (
        Evaluation.objects.filter(_any(Q(gate_id=g.pk, at__lte=since[g.pk]) for g in gates))
        .values("gate_id", "criterion_id").annotate(last=Max("at")).order_by()
    )
    wanted = [Q(gate_id=row["gate_id"], criterion_id=row["criterion_id"], at=row["last"]) for row in last]
    wanted += [Q(gate_id=g.pk, at__gt=since[g.pk], at__lte=at) for g in gates if since[g.pk] < at]
    histories = {}
    if not wanted:
        return histories
    for evaluation in Evaluation.objects.filter(_any(wanted)).order_by("gate_id", "criterion_id", "at", "pk"):
        history = histories.setdefault((evaluation.gate_id, evaluation.criterion_id), [])
        if history and history[-1].at == evaluation.at and evaluation.at <= since[evaluation.gate_id]:
            history[-1] = evaluation  # two at the same moment at or before `since`: the later kept counts
        else:
            history.append(evaluation)
    return histories


def _any(conditions):
    return reduce(operator.or_, conditions)


def gate_states(gates, at=None) -> dict[int, GateState]:
    """{gate id: GateState} at `at` (now) for every gate of `gates` (with their
    template loaded), in a fixed number of queries: the board's cells."""
    at = at or timezone.now()
    gates = list(gates)
    if not gates:
        return {}
    ids = [g.pk for g in gates]
    criteria = {}
    for criterion in Criterion.objects.filter(Criterion.part_of_gate_at(at),
                                              template_id__in={g.template_id for g in gates}).order_by("template", "id"):
        criteria.setdefault(criterion.template_id, []).append(criterion)
    signed = {}
    for sign_off in (SignOff.objects.filter(gate_id__in=ids, at__lte=at).select_related("person")
                     .order_by("-at", "-pk")):
        signed.setdefault(sign_off.gate_id, []).append(sign_off)
    waivers = {}
    for waiver in Waiver.objects.filter(gate_id__in=ids, approved_at__isnull=False).order_by("expires_at", "pk"):
        waivers.setdefault(waiver.gate_id, []).append(waiver)
    decisions = {}
    for decision in GoNoGo.objects.filter(gate_id__in=ids, decided_at__lte=at).order_by("-decided_at", "-pk"):
        decisions.setdefault(decision.gate_id, decision)
    # Enough history to tell the latest evidence and whether a sign-off went stale.
    since = {g.pk: min((s.at for s in signed.get(g.pk, [])), default=at) for g in gates}
    histories = _histories(gates, since, at)
    return {
        gate.pk: _state(gate, at, criteria.get(gate.template_id, []), signed.get(gate.pk, []),
                        {c.pk: histories.get((gate.pk, c.pk), []) for c in criteria.get(gate.template_id, [])},
                        waivers.get(gate.pk, []), decisions.get(gate.pk))
        for gate in gates
    }


def _state(gate, at, criteria, signed, history, waivers, decision) -> GateState:
    """The gate rules over one gate's rows (read by gate_states)."""
    states = []
    for criterion in criteria:
        mine = [w for w in waivers if w.criterion_id == criterion.pk]
        live = next((w for w in reversed(mine) if w.is_live(at)), None)
        expired = next((w for w in reversed(mine) if w.expires_at <= at), None)
        latest = history[criterion.pk][-1] if history[criterion.pk] else None
        states.append(CriterionState(criterion, latest, live, expired))

    sign_offs = [
        SignOffState(sign_off, any(turned_red_after(history[c.pk], sign_off.at) for c in criteria))
        for sign_off in signed
    ]
    current = {s.sign_off.role for s in sign_offs if not s.stale}
    missing = [role for role in gate.template.required_roles if role not in current]

    state = GateState(gate, states, sign_offs, missing, decision)
    if not states and not gate.template.sign_off_only:
        state.blockers.append("No measured criterion: add one, or choose sign-off only")
    for criterion in states:
        if criterion.counts:
            continue
        if criterion.latest is None:
            state.blockers.append(f"{criterion.criterion}: not measured yet")
        else:
            expired = " (its waiver expired)" if criterion.expired_waiver else ""
            state.blockers.append(f"{criterion.criterion}: failing{expired}")
    for role in missing:
        state.blockers.append(f"No current sign-off by {Role(role).label}")
    if gate.template.kind == GateKind.CUTOVER and (decision is None or decision.decision != GoNoGo.Decision.GO):
        state.blockers.append("No go decision recorded")
    return state


def try_pass(gate, at=None):
    """Pass `gate` when it is open, the gate before it has passed and its
    state passes; then open the next gate. Returns whether it passed."""
    at = at or timezone.now()
    with transaction.atomic():
        gate = lock_rows(Gate.objects.select_related("template", "wave").filter(pk=gate.pk)).get()
        if gate.status != Gate.Status.OPEN:
            return gate.status == Gate.Status.PASSED
        before = previous_gate(gate)
        if before is not None and before.status != Gate.Status.PASSED:
            return False
        if not gate_state(gate, at).passes:
            return False
        gate.status, gate.passed_at = Gate.Status.PASSED, at
        gate.save(update_fields=["status", "passed_at"])
        _after_pass(gate)
        _open_next(gate.wave, at)
    return True


def _after_pass(gate):
    wave = gate.wave
    if gate.template.kind == GateKind.CUTOVER:
        wave.status = Wave.Status.LIVE
    elif gate.template.kind == GateKind.HYPERCARE_EXIT:
        wave.status = Wave.Status.CLOSED
    else:
        return
    wave.save(update_fields=["status"])


# --------------------------------------------------------------------------
# Waivers, sign-offs, go/no-go
# --------------------------------------------------------------------------

def _open_gate(gate, what):
    if gate.status != Gate.Status.OPEN:
        raise ValidationError({"gate": f"This gate is {gate.get_status_display().lower()}: no {what} now."})


def request_waiver(gate, criterion, *, user, reason, expires_at):
    """Ask for a waiver of `criterion` on `gate` until `expires_at`; another person approves it."""
    if not may_manage_rollout(user):
        raise PermissionDenied("Only the PMO asks for waivers.")
    errors = {}
    if criterion.template_id != gate.template_id:
        errors["criterion"] = "This criterion is not one of the gate's."
    if not (reason or "").strip():
        errors["reason"] = "Say why the criterion may be waived."
    if expires_at is None:
        errors["expires_at"] = "A waiver needs an expiry."
    elif expires_at <= timezone.now():
        errors["expires_at"] = "The expiry must be in the future."
    if errors:
        raise ValidationError(errors)
    _open_gate(gate, "waiver")
    return Waiver.objects.create(gate=gate, criterion=criterion, reason=reason.strip(), expires_at=expires_at,
                                 requested_by=user)


def approve_waiver(waiver, *, user, at=None):
    """Approve a waiver: never by the person who asked for it (four eyes)."""
    at = at or timezone.now()
    if not may_manage_rollout(user):
        raise PermissionDenied("Only the PMO approves waivers.")
    if waiver.requested_by_id == user.pk:
        raise ValidationError({"approved_by": "The person who asked for a waiver cannot approve it."})
    if waiver.approved_at is not None:
        raise ValidationError({"waiver": "This waiver is already approved."})
    if waiver.expires_at <= at:
        raise ValidationError({"expires_at": "This waiver has expired; ask for a new one."})
    waiver.approved_by, waiver.approved_at = user, at
    waiver.save(update_fields=["approved_by", "approved_at"])
    try_pass(waiver.gate, at)
    return waiver


def sign_off(gate, *, user, role, comment="", at=None):
    """Sign off `gate` for `role` (the person's own role, required by the gate,
    for a wave in their scope)."""
    at = at or timezone.now()
    if not may_sign_off(user, role):
        raise PermissionDenied(f"You may not sign off as {Role(role).label if role in Role.values else role}.")
    if role not in gate.template.required_roles:
        raise ValidationError({"role": f"This gate needs no sign-off by {Role(role).label}."})
    if not Wave.objects.restrict(user).filter(pk=gate.wave_id).exists():
        raise PermissionDenied("This wave has none of your locations.")
    _open_gate(gate, "sign-off")
    signed = SignOff.objects.create(gate=gate, role=role, person=user, comment=(comment or "").strip(), at=at)
    try_pass(gate, at)
    return signed


def evidence_snapshot(state: GateState):
    """The gate's state as plain data, kept with a go/no-go decision."""
    return {
        "criteria": [
            {
                "criterion": str(c.criterion),
                "metric": c.criterion.metric,
                "value": None if c.latest is None or c.latest.value is None else str(c.latest.value),
                "threshold": None if c.latest is None or c.latest.threshold is None else str(c.latest.threshold),
                "sample": None if c.latest is None else c.latest.sample,
                "measured_at": None if c.latest is None else c.latest.at.isoformat(),
                "passed": c.passed,
                "waived": c.waived,
                "waiver_until": c.waiver.expires_at.isoformat() if c.waiver else None,
            }
            for c in state.criteria
        ],
        "sign_offs": [
            {"role": s.sign_off.role, "person": s.sign_off.person.get_username(), "at": s.sign_off.at.isoformat(),
             "stale": s.stale}
            for s in state.sign_offs
        ],
        "missing_roles": state.missing_roles,
    }


def record_go_no_go(gate, *, user, decision, comment="", at=None):
    """Record the go/no-go decision of a wave's cutover gate with the evidence
    at that moment. "Go" needs every criterion counting and every sign-off in."""
    at = at or timezone.now()
    if not may_decide_go_no_go(user):
        raise PermissionDenied("Only the executive or the PMO records a go/no-go decision.")
    if gate.template.kind != GateKind.CUTOVER:
        raise ValidationError({"gate": "Only the cutover gate ends in a go/no-go decision."})
    if decision not in GoNoGo.Decision.values:
        raise ValidationError({"decision": f"One of {', '.join(GoNoGo.Decision.values)}."})
    _open_gate(gate, "go/no-go decision")
    state = gate_state(gate, at)
    if decision == GoNoGo.Decision.GO:
        unmet = [b for b in state.blockers if b != "No go decision recorded"]
        if unmet:
            raise ValidationError({"decision": "Not ready to go: " + "; ".join(unmet) + "."})
    recorded = GoNoGo.objects.create(gate=gate, decision=decision, decided_by=user, decided_at=at,
                                     comment=(comment or "").strip(), evidence=evidence_snapshot(state))
    try_pass(gate, at)
    return recorded
