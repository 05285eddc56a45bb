"""The integration health screen: each feed's volume, acceptance, latency,
rejections and staleness, and the kept rejections with their replay; a
rejection's own page (its payload, a fix of the item master, its replay or
dismissal) and the item master fix form. What they show is computed in
inventory.feeds and changed by inventory.fixes; these views only call them."""
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from controltower import metrics, navigation
from controltower.answers import not_found, refused
from controltower.navigation import screen
from controltower.permissions import may_load_master_data, may_open_documents, may_replay_rejections

from . import feeds, fixes, received_documents
from .forms import DismissForm, SKUFixForm
from .models import SKU, MasterDataChange, ReceivedDocument, RejectedEvent
from .records import rejection_status

PAGE_SIZE = 50


# Where the integration screen shows a refusal (403) of an htmx request.
ALERT = "#replay-result"


def _filters(request):
    """The rejection filters from the query (an unknown source or status is ignored, as no filter)."""
    params = request.GET if request.method == "GET" else request.POST
    codes = {source.code: source for source in feeds.feeds()}
    source = codes.get(params.get("source", ""))
    status = params.get("status", feeds.PENDING)
    if status not in dict(feeds.REJECTION_STATUSES):
        status = feeds.PENDING
    return {"source": source, "cause": params.get("cause", "").strip(), "status": status}, codes


def _rejection_context(request, filters, page_number=None):
    found = feeds.rejections(request.user, **filters)
    page = Paginator(found, PAGE_SIZE).get_page(page_number)
    query = urlencode({key: value for key, value in {
        "source": filters["source"].code if filters["source"] else "",
        "cause": filters["cause"], "status": filters["status"]}.items() if value})
    return {"page": page, "filters": filters, "query": query, "may_replay": may_replay_rejections(request.user)}


@screen("integration-health")
@require_GET
def integration_health(request):
    filters, sources = _filters(request)
    context = _rejection_context(request, filters, request.GET.get("page"))
    if request.htmx and request.htmx.target == "rejections":
        return render(request, "inventory/_rejections.html", context)
    trend = request.GET.get("trend")
    if trend not in feeds.HEALTH_METRICS:
        trend = feeds.HEALTH_METRICS[0]
    period, day, health = feeds.source_health()
    for row in health:
        row.figure, row.summary = feeds.source_trend(row.source, trend, day)
    documents_since, documents = received_documents.document_health()
    context.update({
        "documents_since": documents_since, "documents": documents,
        "documents_days": received_documents.HEALTH_DAYS,
        "refused_documents": received_documents.refused_documents(),
        "may_open_documents": may_open_documents(request.user),
        "period": period, "day": day, "health": health, "sources": sources.values(),
        "causes": feeds.causes_of(request.user), "statuses": feeds.REJECTION_STATUSES,
        "trend": trend, "trend_metric": metrics.get(trend),
        "trend_days": feeds.TREND_DAYS, "any_causes": any(row.causes for row in health),
    })
    return render(request, "inventory/integration_health.html", context)


@login_required
@require_POST
def integration_replay(request):
    """Replay the ticked rejections, or every pending one of the filter."""
    filters, _ = _filters(request)
    ids = None
    if "rejection" in request.POST:
        try:
            ids = [int(value) for value in request.POST.getlist("rejection")]
        except ValueError:
            return render(request, "inventory/_replay_result.html",
                          {"error": "rejection: must be the number of a rejection."}, status=400)
    try:
        replayed, left = feeds.replay(request.user, ids=ids, source=filters["source"], cause=filters["cause"])
    except PermissionDenied as error:
        return refused(request, error, ALERT)
    context = _rejection_context(request, filters)
    context.update({"replayed": replayed, "left": left, "batch": feeds.REPLAY_BATCH, "oob": True})
    return render(request, "inventory/_replay_result.html", context)


# ---------------------------------------------------------------- a document refused whole

# The part of a refused document shown on its page; the whole is a download.
DOCUMENT_SHOWN_BYTES = 256 * 1024


def _refused_document(request, pk):
    """(the refused document, refusal): integration admins and admins open them;
    people who do not see integration health find none (out of sight is not found first)."""
    if not navigation.allows("integration-health", request.user):
        return None, not_found(request, f"No refused document {pk} in what you see.")
    if not may_open_documents(request.user):
        return None, refused(request, "Only integration admins and admins open the documents sources sent.", ALERT)
    document = ReceivedDocument.objects.select_related("source").filter(
        pk=pk, status=ReceivedDocument.Status.REFUSED).first()
    if document is None:
        return None, not_found(request, f"No refused document {pk}.")
    return document, None


@login_required
@require_GET
def refused_document(request, pk):
    """A document the tower could not read or refused whole: why, and what the source sent."""
    document, refusal = _refused_document(request, pk)
    if refusal is not None:
        return refusal
    body = bytes(document.body or b"")
    return render(request, "inventory/refused_document.html", {
        "document": document, "text": body[:DOCUMENT_SHOWN_BYTES].decode("utf-8", errors="replace"),
        "cut": len(body) > DOCUMENT_SHOWN_BYTES, "shown_bytes": DOCUMENT_SHOWN_BYTES,
    })


@login_required
@require_GET
def refused_document_body(request, pk):
    """The body as it came, as a download (never rendered by the browser)."""
    document, refusal = _refused_document(request, pk)
    if refusal is not None:
        return refusal
    response = HttpResponse(bytes(document.body or b""), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="document-{document.pk}-{document.format}.bin"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- one rejection: fix, replay or dismiss

# The causes (first failing field) an item master fix on the SKU form can cure.
FIXABLE_CAUSES = ("sku", "barcode", "unit")


def _rejection(request, pk):
    """(the rejection, refusal): refusal is the error response, if any. A
    rejected event's page is part of the integration health screen: the
    same people see it (controltower.navigation); one out of their sight is
    not found first."""
    rejection = RejectedEvent.objects.restrict(request.user).select_related("source", "dismissed_by").filter(
        pk=pk).first()
    if rejection is None:
        return None, not_found(request, f"No rejected event {pk} in what you see.")
    if not navigation.allows("integration-health", request.user):
        return None, refused(request, navigation.refusal("integration-health"), ALERT)
    return rejection, None


def _payload_rows(payload):
    """The fields the source sent, as (field, text) in its order: what a person reads, not JSON."""
    if not isinstance(payload, dict):
        return [("(the whole event)", str(payload))]
    return [(name, "" if value is None else str(value)) for name, value in payload.items()]


def _fix_query(rejection):
    """The SKU form's starting values for what this rejection needs, or None
    when no item master fix can cure its cause."""
    payload = rejection.payload if isinstance(rejection.payload, dict) else {}
    if rejection.cause not in FIXABLE_CAUSES or rejection.kind != RejectedEvent.Kind.REJECTED:
        return None
    query = {"rejection": rejection.pk}
    sku = str(payload.get("sku") or "")
    if not sku and payload.get("barcode") and rejection.cause != "barcode":
        sku = SKU.objects.filter(barcodes__code=str(payload["barcode"])).values_list("code", flat=True).first() or ""
    if sku:
        query["code"] = sku
    if rejection.cause == "barcode" and payload.get("barcode"):
        query["barcodes"] = str(payload["barcode"])
    if rejection.cause == "unit" and payload.get("unit"):
        query["conversions"] = f"{payload['unit']}="
    return query


@login_required
@require_GET
def rejection_detail(request, pk):
    rejection, refusal = _rejection(request, pk)
    if refusal is not None:
        return refusal
    waiting = rejection.replayed_at is None and rejection.dismissed_at is None
    fix = _fix_query(rejection) if waiting else None
    payload = rejection.payload if isinstance(rejection.payload, dict) else {}
    sku_code = str(payload.get("sku") or (fix or {}).get("code") or "")
    history = MasterDataChange.objects.filter(rejection=rejection)
    if sku_code:
        history = history | MasterDataChange.objects.filter(sku_code=sku_code)
    return render(request, "inventory/rejection.html", {
        "rejection": rejection, "status": rejection_status(rejection), "waiting": waiting,
        "payload_rows": _payload_rows(rejection.payload),
        "fix_url": f"{reverse('master-data-sku')}?{urlencode(fix)}" if fix is not None else "",
        "may_fix": may_load_master_data(request.user), "may_replay": may_replay_rejections(request.user),
        "dismiss_form": DismissForm(), "history": history.order_by("-changed_at", "-id")[:20],
    })


@login_required
@require_POST
def rejection_replay(request, pk):
    """Replay this one rejection (inventory.feeds.replay) and show its page again."""
    rejection, refusal = _rejection(request, pk)
    if refusal is not None:
        return refusal
    try:
        replayed, _left = feeds.replay(request.user, ids=[rejection.pk])
    except PermissionDenied as error:
        return refused(request, error, ALERT)
    if not replayed:
        messages.warning(request, "It was not waiting for a replay (replayed or dismissed already).")
    elif replayed[0].replayed_at is not None:
        messages.success(request, f"Replayed: {replayed[0].replay_status}.")
    else:
        messages.error(request, "Replayed, and still rejected: see what is wrong below.")
    return redirect("rejection", pk=rejection.pk)


@login_required
@require_POST
def rejection_dismiss(request, pk):
    rejection, refusal = _rejection(request, pk)
    if refusal is not None:
        return refusal
    form = DismissForm(request.POST)
    try:
        if not form.is_valid():
            raise fixes.FixError({name: list(errors) for name, errors in form.errors.items()})
        fixes.dismiss(request.user, rejection.pk, form.cleaned_data["reason"])
    except PermissionDenied as error:
        return refused(request, error, ALERT)
    except fixes.FixError as error:
        messages.error(request, f"Not dismissed: {error}")
        return redirect("rejection", pk=rejection.pk)
    messages.success(request, "Dismissed: kept with your reason, never replayed.")
    return redirect("rejection", pk=rejection.pk)


@login_required
@require_http_methods(["GET", "POST"])
def master_data_sku(request):
    """Add a SKU, or complete one and give it a barcode or a unit conversion,
    with the item master import's validation; what changed is kept."""
    if not may_load_master_data(request.user):
        return refused(request, "Only integration admins and admins change the item master.", ALERT)
    if request.method == "POST":
        form = SKUFixForm(request.POST)
        rejection = None
        if form.is_valid():
            rejection = RejectedEvent.objects.restrict(request.user).filter(
                pk=form.cleaned_data["rejection"]).first() if form.cleaned_data["rejection"] else None
            report, change = fixes.fix_sku(request.user, form.row(), rejection=rejection)
            for row in report.refused:
                for name, problems in row.errors.items():
                    form.add_error(name if name in form.fields else None, " ".join(problems))
            if not report.refused:
                messages.success(request, f"SKU {form.cleaned_data['code']}: "
                                          + ("saved." if change else "nothing to change, it already reads so."))
                if rejection is not None:
                    return redirect("rejection", pk=rejection.pk)
                return redirect(f"{reverse('master-data-sku')}?{urlencode({'code': form.cleaned_data['code']})}")
        status = 400
    else:
        code = request.GET.get("code", "").strip()
        sku = SKU.objects.filter(code=code).first() if code else None
        initial = {name: request.GET.get(name, "") for name in ("code", "barcodes", "conversions", "rejection")}
        if sku is not None:
            initial.update({"description": sku.description, "category": sku.category,
                            "unit_cost": sku.unit_cost, "base_unit": sku.base_unit})
        form = SKUFixForm(initial=initial)
        status = 200
    code = (form.data.get("code") if form.is_bound else form.initial.get("code")) or ""
    sku = SKU.objects.filter(code=code.strip()).prefetch_related("barcodes", "conversions").first() if code else None
    rejection_id = form.data.get("rejection") if form.is_bound else form.initial.get("rejection")
    return render(request, "inventory/master_data_sku.html", {
        "form": form, "sku": sku, "rejection_id": rejection_id if str(rejection_id or "").isdigit() else "",
        "history": MasterDataChange.objects.filter(sku_code=code.strip()).order_by("-changed_at", "-id")[:20]
        if code else [],
    }, status=status)
