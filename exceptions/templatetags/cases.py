from django import template

from exceptions.details import ACRONYMS, value_text
from exceptions.findings import CaseKind
from exceptions.models import Case
from exceptions.reconciliation.runs import TROUBLE_WINDOW, latest_runs
from exceptions.services.sla import sla_state as _sla_state

register = template.Library()


@register.filter
def words(value):
    """snake_case codes as plain words: "adjustment_requested" -> "adjustment requested",
    "sla_breach" -> "SLA breach"."""
    return " ".join(ACRONYMS.get(part, part) for part in str(value).split("_"))


@register.filter
def readable(value, where=None):
    """A recorded value as a person reads it (exceptions.details.value_text): a time in `where`'s
    zone to the minute, a code in words."""
    return value_text(value, where)


@register.filter
def sla_state(case, now):
    """`{% with sla=case|sla_state:now %}`: the case's SLA state from exceptions.services.sla, for a table row."""
    return _sla_state(case, now)


@register.filter
def breached_now(case, now):
    """Whether the case reads "Breached" at `now` (exceptions.services.sla), for a row's emphasis."""
    return _sla_state(case, now).state == "breached"


# What the cases app shows on inventory's screens (inventory imports no
# exceptions module: its templates load these).


@register.inclusion_tag("exceptions/_reconciliation_runs.html")
def reconciliation_runs():
    """The integration health screen's runs: each check's latest run and
    those that did not end well within TROUBLE_WINDOW."""
    return {"runs": latest_runs(), "trouble_hours": int(TROUBLE_WINDOW.total_seconds() // 3600)}


@register.simple_tag(takes_context=True)
def journey_cases(context, journey):
    """`{% journey_cases journey as cases %}`: the newest ten journey_stuck
    cases of `journey` that the viewer may see."""
    cases = Case.objects.restrict(context["request"].user)
    return cases.filter(kind=CaseKind.JOURNEY_STUCK, details__journey_id=journey.pk).order_by("-opened_at")[:10]
