"""What every case screen shares: the cases a person sees, where its
refusals show (controltower.answers), a case looked up in scope."""

from controltower.answers import NotInScope

from ..models import Case, CorrectiveAdjustment
from ..services.sla import urgency

PAGE_SIZE = 50


QUEUE_RELATED = ("location", "sku", "assignee", "owner")
CASE_RELATED = ("location__region", "sku", "source", "assignee")


CHANGED = "casesChanged"


def visible_cases(user, now):
    """The cases `user` may see, most urgent first at `now` (exceptions.services.sla.urgency)."""
    return Case.objects.restrict(user).select_related(*QUEUE_RELATED).order_by(*urgency(now))


# Where a case screen shows a refusal (403) or a "not found" (404) of an
# htmx request: the alert above the case or the queue.
ALERT = "#case-alert"


def case_in_scope(request, pk):
    """The case `pk` if `request.user` sees it, else NotInScope."""
    case = Case.objects.restrict(request.user).select_related(*CASE_RELATED).filter(pk=pk).first()
    if case is None:
        raise NotInScope(f"No case #{pk} in your scope: it does not exist, or it is at a store you do not see.")
    return case


def adjustment_in_scope(request, pk):
    """The corrective adjustment `pk` if `request.user` sees its case, else NotInScope."""
    adjustment = (CorrectiveAdjustment.objects.restrict(request.user).select_related("case", "sku", "location")
                  .filter(pk=pk).first())
    if adjustment is None:
        raise NotInScope(
            f"No adjustment #{pk} in your scope: it does not exist, or its case is at a store you do not see.")
    return adjustment
