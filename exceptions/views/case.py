"""The case page and its actions.

Actions answer an htmx request with the fragment they changed plus the
`casesChanged` event, on which the queue counts and table reload."""
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from controltower.answers import NotInScope, add_service_errors, not_found, object_action
from inventory.counts import latest_counts
from inventory.models import (
    STATES,
    InventoryEvent,
    Position,
    PurchaseOrderLine,
    RejectedEvent,
    SnapshotLine,
    Transfer,
)

from ..services import actions, adjustments, duplicates, queries
from ..forms import (
    AdjustmentForm,
    AssignForm,
    CommentForm,
    ExplainDuplicateForm,
    ReopenForm,
    ReverseDuplicateForm,
    ResolveForm,
    WaitForm,
)
from ..details import anomaly, case_details
from ..models import CaseLink
from ..services.sla import sla_state
from .common import ALERT, CHANGED, case_in_scope
from .queue import status_counts


def _lineage(case):
    """The records behind a case, per kind, each read with one query. They
    are shown to whoever sees the case (it is in their scope): the DC's
    transfer_out behind a store's missing transfer, the rejected versions of
    a store's conflicting event."""
    ids = {}
    for kind, object_id in case.links.values_list("kind", "object_id"):
        ids.setdefault(kind, []).append(object_id)
    K = CaseLink.Kind
    return {
        "events": InventoryEvent.objects.filter(pk__in=ids.get(K.EVENT, [])).select_related("source")
        .order_by("occurred_at") if K.EVENT in ids else [],
        "snapshot_lines": SnapshotLine.objects.filter(pk__in=ids.get(K.SNAPSHOT_LINE, []))
        .select_related("snapshot__source") if K.SNAPSHOT_LINE in ids else [],
        "transfers": Transfer.objects.filter(pk__in=ids.get(K.TRANSFER, []))
        .select_related("from_location", "to_location") if K.TRANSFER in ids else [],
        "rejections": RejectedEvent.objects.filter(pk__in=ids.get(K.REJECTION, []))
        .select_related("source") if K.REJECTION in ids else [],
        "po_lines": PurchaseOrderLine.objects.filter(pk__in=ids.get(K.PO_LINE, [])) if K.PO_LINE in ids else [],
    }


def _position(case):
    if case.location_id is None or case.sku_id is None:
        return None
    return (Position.objects.filter(location_id=case.location_id, sku_id=case.sku_id).first()
            or Position(location=case.location, sku=case.sku))


def _body_context(request, case, **forms):
    """Everything the case body shows; `forms` replaces a blank form with a bound one (errors)."""
    locations = [case.location] if case.location else []
    position = _position(case)
    now = timezone.now()
    context = {
        "case": case,
        "details": case_details(case),
        "anomaly": anomaly(case),
        "now": now,
        "sla": sla_state(case, now),
        "actions": actions.allowed_actions(case, request.user),
        "position": position,
        "position_states": [(state, getattr(position, state)) for state in STATES] if position else [],
        "position_counts": latest_counts(case.location_id, case.sku_id) if position else [],
        "history": case.history.select_related("actor"),
        "comments": case.comments.select_related("author"),
        "adjustments": case.adjustments.select_related("requested_by", "approved_by"),
        "assign_form": AssignForm(locations=locations),
        "comment_form": CommentForm(),
        "wait_form": WaitForm(),
        "reopen_form": ReopenForm(),
        "resolve_form": ResolveForm(),
        "adjust_form": AdjustmentForm(),
        "explain_form": ExplainDuplicateForm(),
        "reverse_form": ReverseDuplicateForm(),
        "duplicate_verdict": duplicates.duplicate_verdict(case),
        "same_problem": queries.same_problem(case, request.user),
        "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD,
        **_lineage(case),
    }
    context.update(forms)
    adjust_form = context["adjust_form"]
    context["adjust_preview"] = _adjust_preview(case, adjust_form) if adjust_form.is_bound else {"form": adjust_form}
    return context


@login_required
@require_GET
def case_detail(request, pk):
    try:
        case = case_in_scope(request, pk)
    except NotInScope as error:
        return not_found(request, error, ALERT)
    counts, breached = status_counts(request.user)
    return render(request, "exceptions/case_detail.html",
                  {**_body_context(request, case), "counts": counts, "breached": breached})


@login_required
@require_GET
def case_attachment(request, pk, attachment_id):
    """A file attached to a case, only to who sees the case (files are never served as static)."""
    try:
        case = case_in_scope(request, pk)
    except NotInScope as error:
        return not_found(request, error, ALERT)
    attachment = case.attachments.filter(pk=attachment_id).first()
    if attachment is None:
        return not_found(request, f"No attachment {attachment_id} on case #{case.pk}.", ALERT)
    answer = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    answer["Content-Disposition"] = f'inline; filename="case-{case.pk}-{attachment.pk}"'
    answer["Cache-Control"] = "private, max-age=0"
    return answer


def _refusal(form, error):
    """Put a service's ValidationError on `form` under the fields it names;
    the rest (the case's status refused it, a rule about the whole case) is
    the refusal in words, shown above the case."""
    if error is None:  # the form refused its input: its errors are on it
        return ""
    if form is None or not hasattr(error, "error_dict"):
        return " ".join(error.messages)
    on_form = {name: errors for name, errors in error.error_dict.items() if name in form.fields}
    if on_form:
        add_service_errors(form, ValidationError(on_form))
    return " ".join(message for name, errors in error.error_dict.items() if name not in form.fields
                    for message in ValidationError(errors).messages)


def _answer_case(request, case, status=200, **context):
    """The case as it is now: the case body for htmx, else the whole page. An htmx answer to a
    refused action (status 400) carries the status counts too, swapped out of band: the case may
    have changed under the person (someone else resolved it first), so the page's counts have."""
    if request.htmx:
        if status != 200:
            counts, breached = status_counts(request.user)
            context.update(counts=counts, breached=breached, counts_oob=True)
        return render(request, "exceptions/_case_body.html", _body_context(request, case, **context))
    counts, breached = status_counts(request.user)
    return render(request, "exceptions/case_detail.html",
                  {**_body_context(request, case, **context), "counts": counts, "breached": breached},
                  status=status)


def _case_action(form_class=None, form_name=None):
    """Wrap `do(request, case, data)` as a POST action on one case
    (controltower.answers.object_action).

    A refused action answers the case as it is now with the errors under the
    form's fields and the rest (e.g. a double click: the case is acknowledged
    already) in words above it. A plain form post (no JavaScript) that worked
    goes back to the case page; htmx gets the case body and `casesChanged`.
    """
    def bind(request, case):
        if form_class is None:
            return None
        kwargs = {"locations": [case.location] if case.location else []} if form_class is AssignForm else {}
        return form_class(request.POST, **kwargs)

    def invalid(request, case, form, error):
        refusal = _refusal(form, error)
        case = case_in_scope(request, case.pk)  # as it is now, e.g. acknowledged by the first click
        forms = {form_name: form} if form is not None else {}
        return _answer_case(request, case, status=400, refusal=refusal, **forms)

    def done(request, case, result):
        if not request.htmx:
            return HttpResponseRedirect(reverse("case-detail", args=[case.pk]), status=303)  # no repost on reload
        response = _answer_case(request, case_in_scope(request, case.pk))
        response["HX-Trigger"] = CHANGED
        return response

    return object_action(case_in_scope, bind, invalid=invalid, done=done, target=ALERT)


@_case_action()
def case_acknowledge(request, case, data):
    actions.acknowledge(case, request.user)


@_case_action(AssignForm, "assign_form")
def case_assign(request, case, data):
    actions.assign(case, request.user, data.get("assignee"))


@_case_action()
def case_assign_me(request, case, data):
    actions.assign(case, request.user, request.user)


@_case_action(CommentForm, "comment_form")
def case_comment(request, case, data):
    actions.comment(case, request.user, data.get("body"))


@_case_action(WaitForm, "wait_form")
def case_wait(request, case, data):
    actions.set_waiting(case, request.user, data.get("waiting_on"))


@_case_action()
def case_resume(request, case, data):
    actions.resume(case, request.user)


@_case_action(ResolveForm, "resolve_form")
def case_resolve(request, case, data):
    actions.resolve(case, request.user, data.get("resolution_code"), data.get("root_cause"), data.get("note", ""))


@_case_action(ReopenForm, "reopen_form")
def case_reopen(request, case, data):
    actions.reopen(case, request.user, data.get("reason"))


@_case_action(AdjustmentForm, "adjust_form")
def case_adjust(request, case, data):
    adjustments.request_adjustment(case, request.user, data.get("state"), data.get("quantity"), data.get("reason"),
                                data.get("confirm", False))


@_case_action(ReverseDuplicateForm, "reverse_form")
def case_reverse_duplicate(request, case, data):
    duplicates.reverse_duplicate(case, request.user)


@_case_action(ExplainDuplicateForm, "explain_form")
def case_explain_duplicate(request, case, data):
    duplicates.explain_duplicate(case, request.user, data.get("reason"))


def _adjust_preview(case, form):
    """What the adjustment `form` (bound, validated) would do: each state
    before and after, the case's figure, the warnings to confirm, whether
    finance must approve it. Only the form when it names no quantity yet."""
    preview = {"form": form}
    data = getattr(form, "cleaned_data", {})
    state, quantity = data.get("state"), data.get("quantity")
    if not state or not quantity or not adjustments.adjusts_stock(case):
        return preview
    try:
        adjustments.check_adjustment(case, state, quantity)  # e.g. worth more than a case may adjust
    except ValidationError as error:
        add_service_errors(form, error)
        return preview
    approval = adjustments.adjustment_approval(case, quantity)
    preview.update(state=state, effect=adjustments.adjustment_effect(case, state, quantity), value=approval.value,
                   needs_approval=approval.needed, approval_why=approval.why,
                   pending=adjustments.pending_adjustment(case))
    return preview


@login_required
@require_GET
def case_adjust_preview(request, pk):
    """The preview under the adjustment form, refreshed as it is filled in (the form stays)."""
    try:
        case = case_in_scope(request, pk)
    except NotInScope as error:
        return not_found(request, error, ALERT)
    form = AdjustmentForm(request.GET)
    form.is_valid()
    return render(request, "exceptions/_adjust_preview.html",
                  {"case": case, "preview": _adjust_preview(case, form),
                   "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD})
