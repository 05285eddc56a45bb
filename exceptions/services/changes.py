"""How a case changes: who may change it, from which statuses, and the one
writer of its history.

Every action, finance's decisions and the escalation sweep write case
history through `write_history`; the actions change a case through `move`
(a conditional update and its one history entry).
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from controltower.permissions import may_work_cases

from ..models import Case, CaseHistory

S = Case.Status
HISTORY_FIELDS = ("status", "assignee", "waiting_on", "resolution_code", "root_cause", "owner",
                  "escalation_level", "reopen_count")


class NotAllowed(PermissionDenied):
    """The user may not do this to this case (out of scope or wrong role)."""


def check(case, user, may=may_work_cases):
    """Refuse `user` unless their role `may` (a controltower.permissions predicate) and they see `case`."""
    if not may(user):
        raise NotAllowed("Your role may not do this.")
    if not Case.objects.filter(pk=case.pk).restrict(user).exists():
        raise NotAllowed("This case is not in your scope.")


# The statuses each action starts from: `move` refuses any other and
# `allowed_actions` offers an action only from these. The one table of it.
FROM_STATUSES = {
    "acknowledge": (S.OPEN,),
    "assign": Case.ACTIVE,
    "wait": (S.OPEN, S.ACKNOWLEDGED, S.IN_PROGRESS),
    "resume": (S.WAITING,),
    "resolve": Case.ACTIVE,
    "reopen": Case.DONE,
    "reverse_duplicate": Case.ACTIVE,
    "explain_duplicate": Case.ACTIVE,
}


def move(case, actor, action, note="", from_statuses=None, also=None, at=None, **changes):
    """Change a case only if its status is still one FROM_STATUSES[action]
    (or `from_statuses`, for the moves no person asks for by name) allows.

    The one way actions change a case: a conditional update, then one
    history entry for the action, with every tracked field it changed (and
    `also`: {name: (from, to)} of what it changed beside the case, e.g. an
    adjustment's status), written now or `at`."""
    before = {name: getattr(case, name) for name in changes}
    statuses = from_statuses or FROM_STATUSES[action]
    rows = Case.objects.filter(pk=case.pk, status__in=statuses).update(**changes)
    if rows != 1:
        refuse(action, Case.objects.filter(pk=case.pk).values_list("status", flat=True).first())
    for name, value in changes.items():
        setattr(case, name, value)
    changed = {name: (before[name], value) for name, value in changes.items()
               if name in HISTORY_FIELDS and before[name] != value}
    write_history(case, actor, action, at or timezone.now(), changes={**changed, **(also or {})}, note=note)


# What a refusal says a person tried, when the case's status refuses it.
TRIED = {"acknowledge": "acknowledge it", "assign": "assign it", "wait": "set it waiting", "resume": "resume it",
         "resolve": "resolve it", "reopen": "reopen it", "reverse_duplicate": "settle its pair",
         "explain_duplicate": "settle its pair"}


def refuse(action, status):
    """Refuse `action` on a case whose status (the one read now) does not allow it, in words:
    "Cannot resume it: the case is open." (a double click, a page shown before someone else acted)."""
    label = S(status).label.lower() if status in S.values else "gone"
    raise ValidationError({"status": f"Cannot {TRIED.get(action, 'do that')}: the case is {label}."})


def write_history(case, actor, action, at, field="", from_value="", to_value="", note="", changes=None):
    """One history entry. `changes` ({name: (from, to)}) names what the action
    changed: the status change (else the first) is the entry's field, the
    others its other_changes."""
    changes = dict(changes or {})
    if changes:
        field = "status" if "status" in changes else next(iter(changes))
        from_value, to_value = changes.pop(field)
    CaseHistory.objects.create(
        case=case, actor=actor, at=at, action=action, field=field,
        from_value=_text(from_value), to_value=_text(to_value), note=note,
        other_changes={name: [_text(old), _text(new)] for name, (old, new) in changes.items()},
    )


def sentence(text):
    """A person's words inside a sentence of ours: without their closing full stop (no "..")."""
    return (text or "").strip().rstrip(".!")


def _text(value):
    if value is None:
        return ""
    return str(getattr(value, "username", value))[:300]
