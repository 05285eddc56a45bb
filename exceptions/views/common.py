"""What every case screen shares: the cases a person sees, the refusal page, a case looked up in scope."""

from django.shortcuts import get_object_or_404, render

from controltower.scoping import restrict

from .. import services
from ..models import URGENCY, Case

PAGE_SIZE = 50


QUEUE_RELATED = ("location", "sku", "assignee", "owner")


CHANGED = "casesChanged"


def visible_cases(user):
    """The cases `user` may see, most urgent first: breached, then severity, then due time."""
    return restrict(Case.objects.all(), user).select_related(*QUEUE_RELATED).order_by(*URGENCY)


def refused(request, error):
    """403 with the service's words: a full page, or for htmx a fragment put
    into the page's #case-alert (its wrapper lets htmx swap a 403)."""
    message = error.args[0] if error.args else ""
    if not request.htmx:
        return render(request, "exceptions/refused.html", {"message": message}, status=403)
    response = render(request, "exceptions/refused.html", {"message": message}, status=403)
    response["HX-Retarget"] = "#case-alert"
    response["HX-Reswap"] = "innerHTML"
    return response


def case_in_scope(request, pk):
    case = get_object_or_404(Case.objects.select_related("location__region", "sku", "source", "assignee"), pk=pk)
    if not restrict(Case.objects.filter(pk=pk), request.user).exists():
        raise services.NotAllowed("This case is not in your scope.")
    return case
