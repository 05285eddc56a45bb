"""What every case screen shares: the cases a person sees, the answers for
a refusal (403) and for a case not in scope (404), a case looked up in scope."""

from django.shortcuts import render

from ..models import Case, CorrectiveAdjustment
from ..sla import urgency

PAGE_SIZE = 50


QUEUE_RELATED = ("location", "sku", "assignee", "owner")
CASE_RELATED = ("location__region", "sku", "source", "assignee")


CHANGED = "casesChanged"


class NotInScope(Exception):
    """No such object among those the user sees. Answered 404, as the API
    does: an object out of scope and one that does not exist look the same."""


def visible_cases(user, now):
    """The cases `user` may see, most urgent first at `now` (exceptions.sla.urgency)."""
    return Case.objects.restrict(user).select_related(*QUEUE_RELATED).order_by(*urgency(now))


def _answer(request, page, fragment, message, status):
    """A full page, or for htmx a fragment put into the page's #case-alert
    (its wrapper lets htmx swap a 403 or a 404)."""
    if not request.htmx:
        return render(request, page, {"message": message}, status=status)
    response = render(request, fragment, {"message": message}, status=status)
    response["HX-Retarget"] = "#case-alert"
    response["HX-Reswap"] = "innerHTML"
    return response


def refused(request, error):
    """403 with the service's words: the role may not do this."""
    message = error.args[0] if error.args else ""
    return _answer(request, "exceptions/refused.html", "exceptions/_refused.html", message, 403)


def not_found(request, error):
    """404 with plain words: not a case (or adjustment) this user sees."""
    return _answer(request, "exceptions/not_found.html", "exceptions/_not_found.html", str(error), 404)


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
