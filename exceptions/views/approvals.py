"""Finance approvals of corrective adjustments above the threshold."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from controltower.navigation import screen

from ..forms import (
    RejectForm,
)
from ..models import CorrectiveAdjustment
from ..services import adjustments, queries
from ..services.changes import NotAllowed
from .common import CHANGED, NotInScope, adjustment_in_scope, not_found, refused


def _context(user, **extra):
    return {"adjustments": queries.waiting_for_finance(user), "decisions": queries.finance_decisions(user),
            "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD, **extra}


@screen("approvals")
@require_GET
def approvals(request):
    return render(request, "exceptions/approvals.html", _context(request.user))


def _decision(decide):
    """A decision on one adjustment: the list and the decisions again (htmx),
    or the page (a plain form post: back to it when done)."""
    @login_required
    @require_POST
    def view(request, pk):
        try:
            adjustment = adjustment_in_scope(request, pk)
        except NotInScope as error:
            return not_found(request, error)
        form = RejectForm(request.POST)
        form.is_valid()
        try:
            decide(adjustment, request.user, form.cleaned_data.get("reason", ""))
        except NotAllowed as error:
            return refused(request, error)
        except ValidationError as error:
            context = _context(request.user, error=" ".join(error.messages))
            if request.htmx:
                return render(request, "exceptions/_approval_table.html", context)
            return render(request, "exceptions/approvals.html", context, status=400)
        if not request.htmx:
            return HttpResponseRedirect(reverse("approvals"), status=303)
        response = render(request, "exceptions/_approval_table.html", _context(request.user, decided=adjustment))
        response["HX-Trigger"] = CHANGED
        return response
    view.__name__ = decide.__name__
    return view


@_decision
def approval_approve(adjustment, user, reason):
    adjustments.approve_adjustment(adjustment, user)


@_decision
def approval_reject(adjustment, user, reason):
    adjustments.reject_adjustment(adjustment, user, reason)
