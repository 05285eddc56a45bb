"""Finance approvals of corrective adjustments above the threshold."""

from django.conf import settings
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from controltower.answers import object_action
from controltower.navigation import screen

from ..services import adjustments, queries
from ..forms import (
    RejectForm,
)
from .common import ALERT, CHANGED, adjustment_in_scope


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
    def invalid(request, adjustment, form, error):
        context = _context(request.user, error=" ".join(error.messages) if error else form.errors.as_text())
        if request.htmx:
            return render(request, "exceptions/_approval_table.html", context)
        return render(request, "exceptions/approvals.html", context, status=400)

    def done(request, adjustment, result):
        if not request.htmx:
            return HttpResponseRedirect(reverse("approvals"), status=303)
        response = render(request, "exceptions/_approval_table.html", _context(request.user, decided=adjustment))
        response["HX-Trigger"] = CHANGED
        return response

    def do(request, adjustment, data):
        decide(adjustment, request.user, data.get("reason", ""))
    do.__name__ = decide.__name__

    return object_action(adjustment_in_scope, lambda request, adjustment: RejectForm(request.POST),
                         invalid=invalid, done=done, target=ALERT)(do)


@_decision
def approval_approve(adjustment, user, reason):
    adjustments.approve_adjustment(adjustment, user)


@_decision
def approval_reject(adjustment, user, reason):
    adjustments.reject_adjustment(adjustment, user, reason)
