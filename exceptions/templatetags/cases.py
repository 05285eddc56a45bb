from django import template

from exceptions.details import ACRONYMS, value_text
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
