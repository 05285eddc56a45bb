"""The PMO's changes to a program's gates: criteria added, edited and
retired, the roles that sign off, and the deliberate choice of "sign-off
only" for a gate without a measured criterion. Each change is a GateChange
in the gate's history (who, when, why, before and after).

Four eyes where a gate is loosened: a threshold made easier to meet (lower
for "at least", higher for "at most"), a comparator or baseline changed, or a
criterion retired waits, pending, until a second person of the PMO or an
admin approves it (or declines it). Tightening, adding and the roles apply
at once. The screens (rollout.views) and the API (/api/v1/criteria) call
these functions and nothing else.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from controltower import metrics
from controltower.locks import lock_rows
from controltower.models import Role
from controltower.permissions import may_manage_rollout

from . import gates
from .models import Criterion, Gate, GateChange

EDITABLE = ("metric", "comparator", "threshold", "scope", "window_hours", "steady_hours", "baseline")
HIGHER_IS_STRICTER = {Criterion.Comparator.GTE, Criterion.Comparator.GT}
LOWER_IS_STRICTER = {Criterion.Comparator.LTE, Criterion.Comparator.LT}


def _may(user):
    if not may_manage_rollout(user):
        raise PermissionDenied("Only the PMO changes a gate's criteria and sign-off roles.")


def _reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why: it goes in the gate's history."})
    return reason


def number_text(value):
    """A threshold as plain digits: 90, 99.5 (never 9E+1)."""
    return f"{Decimal(value).normalize():f}"


def as_record(criterion):
    """The criterion's settings as plain data, for the history."""
    return {
        "metric": criterion.metric, "comparator": criterion.comparator,
        "threshold": None if criterion.threshold is None else number_text(criterion.threshold),
        "scope": criterion.scope, "window_hours": criterion.window_hours, "steady_hours": criterion.steady_hours,
        "baseline": criterion.baseline,
    }


def _clean(values, *, partial_of=None):
    """The criterion settings of `values` checked, as {field: value}; a
    ValidationError naming each bad field. With `partial_of` (a criterion),
    missing fields keep its values."""
    data = as_record(partial_of) if partial_of is not None else {}
    data.update({k: v for k, v in values.items() if k in EDITABLE})
    errors = {}
    try:
        metrics.get(data.get("metric") or "")
    except ValueError as error:
        errors["metric"] = str(error)
    if data.get("comparator") not in Criterion.Comparator.values:
        errors["comparator"] = f"One of {', '.join(Criterion.Comparator.values)}."
    try:
        data["threshold"] = Decimal(str(data.get("threshold")))
        if not data["threshold"].is_finite() or abs(data["threshold"]) >= Decimal("1e10"):
            raise InvalidOperation
        data["threshold"] = data["threshold"].quantize(Decimal("0.0001"))
    except (InvalidOperation, ValueError, TypeError):
        errors["threshold"] = "A number, e.g. 99.5 (less than 10 000 000 000)."
    data.setdefault("scope", Criterion.ScopeKind.LOCATIONS)
    if data["scope"] not in Criterion.ScopeKind.values:
        errors["scope"] = f"One of {', '.join(Criterion.ScopeKind.values)}."
    data["baseline"] = data.get("baseline") or ""
    if data["baseline"] not in Criterion.Baseline.values:
        errors["baseline"] = f"One of {', '.join(v for v in Criterion.Baseline.values if v)}, or empty."
    for name, default, least in (("window_hours", 24, 1), ("steady_hours", None, 1)):
        value = data.get(name, default)
        if value in (None, "") and default is None:
            data[name] = None
            continue
        try:
            value = int(value)
            if isinstance(data.get(name), float) and data[name] != value:
                raise ValueError
        except (TypeError, ValueError):
            errors[name] = "A whole number of hours."
            continue
        if not least <= value <= 24 * 366:
            errors[name] = f"Between {least} and {24 * 366} hours."
        data[name] = value
    if errors:
        raise ValidationError(errors)
    return data


def loosens(before, after):
    """Whether `after` (settings) is easier to meet than `before`: the four-eyes case."""
    if (before["comparator"], before["baseline"], before["metric"]) != (
            after["comparator"], after["baseline"], after["metric"]):
        return True
    old, new = Decimal(before["threshold"]), Decimal(after["threshold"])
    if before["comparator"] in HIGHER_IS_STRICTER:
        return new < old
    if before["comparator"] in LOWER_IS_STRICTER:
        return new > old
    return new != old  # "equal to": any other value is another rule


def _record(template, user, action, reason, *, criterion=None, before=None, after=None, at,
            status=GateChange.Status.APPLIED):
    return GateChange.objects.create(
        template=template, criterion=criterion, action=action, status=status, before=before or {},
        after=after or {}, reason=reason, requested_by=user, requested_at=at,
    )


def active_criteria(template, at=None):
    return template.criteria.filter(Criterion.part_of_gate_at(at or timezone.now()))


def add_criterion(template, values, *, user, reason, at=None):
    """Add a measured criterion to the gate (applies at once: it only tightens).
    A gate on sign-off only becomes measured again."""
    _may(user)
    reason, at = _reason(reason), at or timezone.now()
    data = _clean(values)
    with transaction.atomic():
        criterion = Criterion.objects.create(template=template, added_at=at, **data)
        _record(template, user, GateChange.Action.ADD, reason, criterion=criterion, after=as_record(criterion), at=at)
        if template.sign_off_only:
            template.sign_off_only = False
            template.save(update_fields=["sign_off_only"])
            _record(template, user, GateChange.Action.MEASURED, reason, at=at,
                    before={"sign_off_only": True}, after={"sign_off_only": False})
    return criterion


def edit_criterion(criterion, values, *, user, reason, at=None):
    """Change a criterion: at once when it tightens; a pending change for a
    second approver when it loosens. Returns the GateChange."""
    _may(user)
    reason, at = _reason(reason), at or timezone.now()
    if criterion.retired_at is not None:
        raise ValidationError({"criterion": "This criterion is retired: add a new one."})
    before = as_record(criterion)
    data = _clean(values, partial_of=criterion)
    after = {**data, "threshold": number_text(data["threshold"])}
    if after == before:
        raise ValidationError({"threshold": "Nothing changes: the criterion already says this."})
    if loosens(before, after):
        return _record(criterion.template, user, GateChange.Action.EDIT, reason, criterion=criterion,
                       before=before, after=after, at=at, status=GateChange.Status.PENDING)
    with transaction.atomic():
        _apply_edit(criterion, data)
        return _record(criterion.template, user, GateChange.Action.EDIT, reason, criterion=criterion,
                       before=before, after=after, at=at)


def _apply_edit(criterion, data):
    for name, value in data.items():
        setattr(criterion, name, value)
    criterion.save(update_fields=list(data))


def retire_criterion(criterion, *, user, reason, at=None):
    """Take a criterion out of its gate: it loosens the gate, so a second person approves it."""
    _may(user)
    reason, at = _reason(reason), at or timezone.now()
    if criterion.retired_at is not None:
        raise ValidationError({"criterion": "This criterion is already retired."})
    return _record(criterion.template, user, GateChange.Action.RETIRE, reason, criterion=criterion,
                   before=as_record(criterion), at=at, status=GateChange.Status.PENDING)


def decide(change, *, user, approve, at=None):
    """Approve (apply) or decline a pending change: never by who asked for it."""
    _may(user)
    at = at or timezone.now()
    with transaction.atomic():
        change = lock_rows(GateChange.objects.filter(pk=change.pk)).get()
        if change.status != GateChange.Status.PENDING:
            raise ValidationError({"change": f"This change is {change.get_status_display().lower()} already."})
        if change.requested_by_id == user.pk:
            raise ValidationError({"decided_by": "The person who asked for a change cannot approve it: "
                                                 "a second person of the PMO or an admin does."})
        criterion = change.criterion
        if approve and criterion.retired_at is not None:
            raise ValidationError({"criterion": "This criterion was retired meanwhile."})
        if approve and change.before != as_record(criterion):
            raise ValidationError({"criterion": "The criterion changed since this was asked: ask again."})
        if approve and change.action == GateChange.Action.RETIRE:
            criterion.retired_at = at
            criterion.save(update_fields=["retired_at"])
        elif approve:
            _apply_edit(criterion, _clean(change.after))
        change.status = GateChange.Status.APPLIED if approve else GateChange.Status.DECLINED
        change.decided_by, change.decided_at = user, at
        change.save(update_fields=["status", "decided_by", "decided_at"])
    return change


def set_roles(template, roles, *, user, reason, at=None):
    """Set the roles that must sign the gate off."""
    _may(user)
    reason, at = _reason(reason), at or timezone.now()
    roles = list(dict.fromkeys(str(role) for role in roles or []))
    unknown = [role for role in roles if role not in Role.values]
    if unknown:
        raise ValidationError({"required_roles": f"Unknown roles: {', '.join(unknown)}; one of "
                                                 f"{', '.join(Role.values)}."})
    if roles == list(template.required_roles):
        raise ValidationError({"required_roles": "Nothing changes: these roles already sign it off."})
    with transaction.atomic():
        before = {"required_roles": list(template.required_roles)}
        template.required_roles = roles
        template.save(update_fields=["required_roles"])
        return _record(template, user, GateChange.Action.ROLES, reason, before=before,
                       after={"required_roles": roles}, at=at)


def choose_sign_off_only(template, *, user, reason, at=None):
    """The PMO's deliberate choice: this gate has no measured criterion and
    passes on its sign-offs (it says "sign-off only", never green)."""
    _may(user)
    reason, at = _reason(reason), at or timezone.now()
    if active_criteria(template, at).exists():
        raise ValidationError({"sign_off_only": "The gate still has measured criteria: retire them first."})
    if template.sign_off_only:
        raise ValidationError({"sign_off_only": "This gate is already on sign-off only."})
    if not template.required_roles:
        raise ValidationError({"sign_off_only": "A gate on sign-off only needs at least one role to sign it off."})
    with transaction.atomic():
        template.sign_off_only = True
        template.save(update_fields=["sign_off_only"])
        change = _record(template, user, GateChange.Action.SIGN_OFF_ONLY, reason, at=at,
                         before={"sign_off_only": False}, after={"sign_off_only": True})
    for gate in template.gates.filter(status=Gate.Status.OPEN):  # signed off already: it passes now
        gates.try_pass(gate, at)
    return change


def history(template):
    return template.changes.select_related("criterion", "requested_by", "decided_by").order_by(
        "-requested_at", "-pk")


def pending(template):
    return history(template).filter(status=GateChange.Status.PENDING)


def sign_off_only_change(template):
    """The recorded choice of sign-off only now in force (who, when, why), or None."""
    if not template.sign_off_only:
        return None
    return history(template).filter(action=GateChange.Action.SIGN_OFF_ONLY).first()
