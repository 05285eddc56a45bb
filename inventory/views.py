"""The integration health screen: each feed's volume, acceptance, latency,
rejections and staleness, and the kept rejections with their replay.
What it shows is computed in inventory.feeds; these views only call it."""
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from controltower import metrics
from controltower.navigation import screen
from controltower.permissions import may_replay_rejections
from exceptions.reconciliation.runs import TROUBLE_WINDOW, latest_runs

from . import feeds

PAGE_SIZE = 50


def _refused(request, message):
    response = render(request, "exceptions/refused.html", {"message": message}, status=403)
    if request.htmx:
        response = render(request, "exceptions/_refused.html", {"message": message}, status=403)
        response["HX-Retarget"] = "#replay-result"
        response["HX-Reswap"] = "innerHTML"
    return response


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
    context.update({
        "period": period, "day": day, "health": health, "sources": sources.values(),
        "causes": feeds.causes_of(request.user), "statuses": feeds.REJECTION_STATUSES,
        "trend": trend, "trend_metric": metrics.get(trend),
        "trend_days": feeds.TREND_DAYS, "any_causes": any(row.causes for row in health),
        "runs": latest_runs(), "trouble_hours": int(TROUBLE_WINDOW.total_seconds() // 3600),
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
        return _refused(request, str(error))
    context = _rejection_context(request, filters)
    context.update({"replayed": replayed, "left": left, "batch": feeds.REPLAY_BATCH, "oob": True})
    return render(request, "inventory/_replay_result.html", context)
