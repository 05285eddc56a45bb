"""The store manager's screens: the case queue, the case page with its actions,
finance approvals and "My stores".

Views only read (always through `restrict`) and call exceptions/services.py,
which decides what is allowed. A case outside the user's scope answers 403
with a plain message, for reads and actions alike; an unknown case is a 404.
Actions answer an htmx request with the fragment they changed plus the
`casesChanged` event, on which the queue counts and table reload.
"""
from copy import copy

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from controltower import csvsafe
from controltower.scoping import restrict, role_of, visible_locations
from inventory.models import STATES, InventoryEvent, Position, PurchaseOrderLine, RejectedEvent, SnapshotLine, Transfer

from . import services
from .filters import ACTIVE, DONE_COUNT_DAYS, CaseFilter, resolved_within
from .forms import (
    AdjustmentForm,
    AssignForm,
    BulkForm,
    CommentForm,
    ReopenForm,
    RejectForm,
    ResolveForm,
    WaitForm,
    add_service_errors,
    assignable_users,
)
from .models import URGENCY, Case, CaseLink, CorrectiveAdjustment

PAGE_SIZE = 50
QUEUE_RELATED = ("location", "sku", "assignee", "owner")
CHANGED = "casesChanged"


def _cases(user):
    """The cases `user` may see, most urgent first: breached, then severity, then due time."""
    return restrict(Case.objects.all(), user).select_related(*QUEUE_RELATED).order_by(*URGENCY)


def _refused(request, error):
    """403 with the service's words: a full page, or for htmx a fragment put
    into the page's #case-alert (its wrapper lets htmx swap a 403)."""
    message = error.args[0] if error.args else ""
    if not request.htmx:
        return render(request, "exceptions/refused.html", {"message": message}, status=403)
    response = render(request, "exceptions/_refused.html", {"message": message}, status=403)
    response["HX-Retarget"] = "#case-alert"
    response["HX-Reswap"] = "innerHTML"
    return response


def _case_in_scope(request, pk):
    case = get_object_or_404(Case.objects.select_related("location__region", "sku", "source", "assignee"), pk=pk)
    if not restrict(Case.objects.filter(pk=pk), request.user).exists():
        raise services.NotAllowed("This case is not in your scope.")
    return case


# --------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------

def status_counts(user):
    """The active cases per status and how many of them are breached, and the
    cases resolved or closed in the last DONE_COUNT_DAYS (all-time done
    counts only grow): two GROUP BYs, each read from an index alone."""
    cases = restrict(Case.objects.all(), user).order_by()
    done = resolved_within(cases.filter(status__in=Case.DONE), DONE_COUNT_DAYS)
    rows = [
        *cases.filter(status__in=Case.ACTIVE).values("status").annotate(n=Count("*"), breached=Count("breached_at")),
        *done.values("status").annotate(n=Count("*")),
    ]
    counts = {row["status"]: row for row in rows}
    return [
        {"status": status, "label": label, "count": counts[status]["n"] if status in counts else 0,
         "within": DONE_COUNT_DAYS if status in Case.DONE else None}
        for status, label in Case.Status.choices
    ], sum(counts[status]["breached"] for status in Case.ACTIVE if status in counts)


def _filterset(request):
    """The queue's filter; with no status chosen the queue shows the active cases."""
    data = request.GET.copy()
    data.setdefault("status", ACTIVE)
    return CaseFilter(data, queryset=_cases(request.user), request=request)


def _page_of(cases, number):
    """One page of the queue. The page's ids are found first, on the case
    table alone (read in URGENCY order off its index), then only those cases
    are read with their location, SKU and people: a deep page costs about
    what the first one does."""
    page = Paginator(cases.values_list("pk", flat=True), PAGE_SIZE).get_page(number)
    ids = list(page.object_list)
    by_id = Case.objects.select_related(*QUEUE_RELATED).in_bulk(ids)  # ids already in scope and filtered
    page.object_list = [by_id[pk] for pk in ids]
    return page


def _queue_context(request):
    filterset = _filterset(request)
    page = _page_of(filterset.qs, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return {"filterset": filterset, "page": page, "query": query.urlencode(), "now": timezone.now(),
            "done_statuses": Case.DONE}


@login_required
@require_GET
def case_list(request):
    context = _queue_context(request)
    if request.htmx and request.htmx.target == "case-table":
        return render(request, "exceptions/_case_table.html", context)
    counts, breached = status_counts(request.user)
    # Whom the filter and the bulk bar offer: read once for both lists.
    people = list(assignable_users(visible_locations(request.user)).only("username", "first_name", "last_name"))
    return render(request, "exceptions/case_list.html",
                  {**context, "counts": counts, "breached": breached, "people": people})


@login_required
@require_GET
def case_counts(request):
    counts, breached = status_counts(request.user)
    return render(request, "exceptions/_case_counts.html", {"counts": counts, "breached": breached})


class _Echo:
    def write(self, value):
        return value


EXPORT_COLUMNS = [
    "id", "kind", "severity", "status", "location", "sku", "sku_description", "reference",
    "quantity_at_risk", "value_at_risk", "assignee", "opened_at", "resolution_due_at", "breached_at", "summary",
]


def _export_rows(cases):
    writer = csvsafe.writer(_Echo())  # text cells that look like formulas get a leading '
    yield writer.writerow(EXPORT_COLUMNS)
    for case in cases.iterator(chunk_size=2000):
        yield writer.writerow([
            case.pk, case.kind, case.severity, case.status,
            case.location.code if case.location else "", case.sku.code if case.sku else "",
            case.sku.description if case.sku else "", case.reference, case.quantity_at_risk, case.value_at_risk,
            case.assignee.username if case.assignee else "", case.opened_at.isoformat(),
            case.resolution_due_at.isoformat() if case.resolution_due_at else "",
            case.breached_at.isoformat() if case.breached_at else "", case.summary,
        ])


@login_required
@require_GET
def case_export(request):
    """The filtered queue as CSV: the same filter and scope as the screen, every page."""
    filterset = _filterset(request)
    response = StreamingHttpResponse(_export_rows(filterset.qs), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="cases-{timezone.now():%Y%m%d-%H%M}.csv"'
    return response


@login_required
@require_POST
def case_bulk(request):
    """Acknowledge or assign the ticked cases. One case outside the user's
    scope refuses the whole request; a case whose status does not allow the
    action is skipped and named."""
    form = BulkForm(request.POST, locations=visible_locations(request.user))
    if not form.is_valid():
        return render(request, "exceptions/_bulk_result.html", {"form": form})
    ids = set(form.cleaned_data["cases"])
    cases = list(restrict(Case.objects.filter(pk__in=ids), request.user).select_related("sku", "location"))
    if len(cases) != len(ids):
        return _refused(request, services.NotAllowed(
            f"{len(ids) - len(cases)} of the selected cases are not in your scope; nothing was changed."))
    action = form.cleaned_data["action"]
    assignee = request.user if action == "assign_me" else form.cleaned_data["assignee"]
    done, skipped = [], []
    for case in sorted(cases, key=lambda c: c.pk):
        try:
            if action == "acknowledge":
                services.acknowledge(case, request.user)
            else:
                services.assign(case, request.user, assignee)
            done.append(case)
        except ValidationError as error:
            skipped.append((case, " ".join(error.messages)))
        except PermissionDenied as error:
            skipped.append((case, str(error)))
    response = render(request, "exceptions/_bulk_result.html",
                      {"form": form, "done": done, "skipped": skipped, "action": action, "assignee": assignee})
    response["HX-Trigger"] = CHANGED
    return response


# --------------------------------------------------------------------------
# The case page
# --------------------------------------------------------------------------

def _lineage(case):
    """The records behind a case, per kind, each read with one query."""
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


ACRONYMS = {"pos": "POS", "erp": "ERP", "sku": "SKU", "atp": "ATP", "po": "PO", "wms": "WMS"}


def _words(key):
    """ "pos_quantity" reads "POS quantity"."""
    words = [ACRONYMS.get(word, word) for word in key.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:], *words[1:]])


def _details(case):
    """The job's numbers as (label, text): labels in words, a tolerance as
    "units 5, percent 0.5", a time in the server's time zone."""
    rows = []
    for key, value in case.details.items():
        if isinstance(value, dict):
            value = ", ".join(f"{_words(k).lower()} {v}" for k, v in value.items())
        elif isinstance(value, str) and "T" in value and (moment := parse_datetime(value)) is not None:
            value = timezone.localtime(moment).strftime("%d %b %Y %H:%M")
        rows.append((_words(key), value))
    return rows


def _position(case):
    if case.location_id is None or case.sku_id is None:
        return None
    return (Position.objects.filter(location_id=case.location_id, sku_id=case.sku_id).first()
            or Position(location=case.location, sku=case.sku))


def _body_context(request, case, **forms):
    """Everything the case body shows; `forms` replaces a blank form with a bound one (errors)."""
    locations = [case.location] if case.location else []
    position = _position(case)
    context = {
        "case": case,
        "details": _details(case),
        "now": timezone.now(),
        "active_statuses": Case.ACTIVE,
        "done_statuses": Case.DONE,
        "can_work": role_of(request.user) in services.CASE_WORKERS,
        "position": position,
        "position_states": [(state, getattr(position, state)) for state in STATES] if position else [],
        "history": case.history.select_related("actor"),
        "comments": case.comments.select_related("author"),
        "adjustments": case.adjustments.select_related("requested_by", "approved_by"),
        "assign_form": AssignForm(locations=locations),
        "comment_form": CommentForm(),
        "wait_form": WaitForm(),
        "reopen_form": ReopenForm(),
        "resolve_form": ResolveForm(),
        "adjust_form": AdjustmentForm(),
        "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD,
        **_lineage(case),
    }
    context.update(forms)
    return context


@login_required
@require_GET
def case_detail(request, pk):
    try:
        case = _case_in_scope(request, pk)
    except services.NotAllowed as error:
        return _refused(request, error)
    counts, breached = status_counts(request.user)
    return render(request, "exceptions/case_detail.html",
                  {**_body_context(request, case), "counts": counts, "breached": breached})


def _case_action(form_class=None, form_name=None):
    """Wrap `do(request, case, data)` as a POST action on one case.

    The service checks scope and rules: NotAllowed answers 403, a
    ValidationError re-renders the case body with the errors on the form.
    """
    def decorate(do):
        @login_required
        @require_POST
        def view(request, pk):
            case = get_object_or_404(Case.objects.select_related("location__region", "sku", "source", "assignee"),
                                     pk=pk)
            form = None
            if form_class is not None:
                kwargs = {"locations": [case.location] if case.location else []} if form_class is AssignForm else {}
                form = form_class(request.POST, **kwargs)
                form.is_valid()
            try:
                do(request, case, form.cleaned_data if form else None)
            except services.NotAllowed as error:
                return _refused(request, error)
            except ValidationError as error:
                add_service_errors(form, error)
                return render(request, "exceptions/_case_body.html",
                              _body_context(request, case, **{form_name: form}))
            case = Case.objects.select_related("location__region", "sku", "source", "assignee").get(pk=pk)
            response = render(request, "exceptions/_case_body.html", _body_context(request, case))
            response["HX-Trigger"] = CHANGED
            return response
        view.__name__ = do.__name__
        return view
    return decorate


@_case_action()
def case_acknowledge(request, case, data):
    services.acknowledge(case, request.user)


@_case_action(AssignForm, "assign_form")
def case_assign(request, case, data):
    services.assign(case, request.user, data.get("assignee"))


@_case_action()
def case_assign_me(request, case, data):
    services.assign(case, request.user, request.user)


@_case_action(CommentForm, "comment_form")
def case_comment(request, case, data):
    services.comment(case, request.user, data.get("body"))


@_case_action(WaitForm, "wait_form")
def case_wait(request, case, data):
    services.set_waiting(case, request.user, data.get("waiting_on"))


@_case_action()
def case_resume(request, case, data):
    services.resume(case, request.user)


@_case_action(ResolveForm, "resolve_form")
def case_resolve(request, case, data):
    services.resolve(case, request.user, data.get("resolution_code"), data.get("root_cause"), data.get("note", ""))


@_case_action(ReopenForm, "reopen_form")
def case_reopen(request, case, data):
    services.reopen(case, request.user, data.get("reason"))


@_case_action(AdjustmentForm, "adjust_form")
def case_adjust(request, case, data):
    services.request_adjustment(case, request.user, data.get("state"), data.get("quantity"))


@login_required
@require_GET
def case_adjust_preview(request, pk):
    """The position after a proposed adjustment, and whether finance must approve it."""
    try:
        case = _case_in_scope(request, pk)
    except services.NotAllowed as error:
        return _refused(request, error)
    form = AdjustmentForm(request.GET)
    position = _position(case)
    context = {"case": case, "form": form, "position": position,
               "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD}
    if form.is_valid() and form.cleaned_data["quantity"] and position is not None:
        state, quantity = form.cleaned_data["state"], form.cleaned_data["quantity"]
        try:
            services.check_adjustment(case, state, quantity)  # e.g. worth more than a case may adjust
        except ValidationError as error:
            add_service_errors(form, error)
            return render(request, "exceptions/_adjust_preview.html", context)
        after = copy(position)
        setattr(after, state, getattr(position, state) + quantity)
        value, needs_approval = services.adjustment_value(case, quantity)
        context.update(state=state, before_value=getattr(position, state), after_value=getattr(after, state),
                       after=after, value=value, needs_approval=needs_approval)
    return render(request, "exceptions/_adjust_preview.html", context)


# --------------------------------------------------------------------------
# Finance approvals
# --------------------------------------------------------------------------

def _approver_only(request):
    if role_of(request.user) not in services.APPROVERS:
        raise services.NotAllowed("Only finance approves corrective adjustments.")


def _pending(user):
    return (
        restrict(CorrectiveAdjustment.objects.filter(status=CorrectiveAdjustment.Status.PENDING_APPROVAL),
                 user, "location")
        .select_related("case", "sku", "location", "requested_by")
        .order_by("-value", "requested_at")
    )


@login_required
@require_GET
def approvals(request):
    try:
        _approver_only(request)
    except services.NotAllowed as error:
        return _refused(request, error)
    return render(request, "exceptions/approvals.html",
                  {"adjustments": _pending(request.user), "threshold": settings.CASE_ADJUSTMENT_APPROVAL_THRESHOLD})


def _decision(decide):
    @login_required
    @require_POST
    def view(request, pk):
        adjustment = get_object_or_404(CorrectiveAdjustment.objects.select_related("case", "sku", "location"),
                                       pk=pk)
        form = RejectForm(request.POST)
        form.is_valid()
        try:
            decide(adjustment, request.user, form.cleaned_data.get("reason", ""))
        except services.NotAllowed as error:
            return _refused(request, error)
        except ValidationError as error:
            return render(request, "exceptions/_approval_table.html",
                          {"adjustments": _pending(request.user), "error": " ".join(error.messages)})
        response = render(request, "exceptions/_approval_table.html",
                          {"adjustments": _pending(request.user), "decided": adjustment})
        response["HX-Trigger"] = CHANGED
        return response
    view.__name__ = decide.__name__
    return view


@_decision
def approval_approve(adjustment, user, reason):
    services.approve_adjustment(adjustment, user)


@_decision
def approval_reject(adjustment, user, reason):
    services.reject_adjustment(adjustment, user, reason)
