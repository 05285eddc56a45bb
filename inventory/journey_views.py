"""The journeys screens: a filtered list (the page the journey KPIs' records
link opens) and a journey's own page with its steps, times and SLA. They
read inventory.journeys and the journeys of the user's scope; the API's
JourneyFilter narrows them, so a KPI's link means the same on the screen."""
from datetime import timedelta

import django_filters
from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from controltower.answers import not_found
from controltower.counts import CappedPaginator
from controltower.csvsafe import csv_response
from controltower.metrics import seconds_text
from controltower.navigation import screen
from controltower.scoping import visible_locations
from controltower.widgets import LongSelect

from .api.filters import JourneyFilter
from .journeys import STEPS, sla_for
from .models import Journey, JourneyKind, Location

PAGE_SIZE = 50
STATES = sorted({step.state for steps in STEPS.values() for step in steps.values() if step.state})
# Filters a KPI's link sets and the screen keeps (hidden) while the others change.
KPI_FILTERS = ("locations", "channels", "step", "since", "until")


def _locations(request):
    return visible_locations(request.user) if request else Location.objects.none()


class JourneyScreenFilter(JourneyFilter):
    """The API's journey filter with the screen's choices: kind, location,
    state and stuck as lists."""

    kind = django_filters.ChoiceFilter(choices=JourneyKind.choices, empty_label="All kinds")
    location = django_filters.ModelChoiceFilter(queryset=_locations, to_field_name="code", widget=LongSelect,
                                                empty_label="All my locations")
    state = django_filters.ChoiceFilter(choices=[(s, s.replace("_", " ")) for s in STATES],
                                        empty_label="Any state")
    stuck = django_filters.BooleanFilter(
        method="filter_stuck", label="SLA",
        widget=forms.Select(choices=[("", "Stuck or not"), ("true", "Stuck: past its SLA"),
                                     ("false", "Within its SLA or none")]),
    )

    class Meta(JourneyFilter.Meta):
        pass


def _filterset(request):
    journeys = Journey.objects.restrict(request.user).select_related("location").order_by("-started_at", "-id")
    return JourneyScreenFilter(request.GET, queryset=journeys, request=request)


def sla_words(journey, now):
    """The journey's SLA now, in words, and whether it is stuck."""
    sla = sla_for(journey.kind, journey.state)
    if sla is None or journey.due_at is None:
        return "No SLA runs in this state", False
    left = journey.due_at - now
    if left <= timedelta(0):
        return f"Stuck: {sla.words}, {seconds_text(-left.total_seconds())} past its {sla.hours} h SLA", True
    return f"Due within {seconds_text(left.total_seconds())} ({sla.hours} h SLA)", False


@screen("journeys")
@require_GET
def journey_list(request):
    filterset = _filterset(request)
    now = timezone.now()
    context = {"filterset": filterset, "kpi_filters": KPI_FILTERS, "now": now}
    if not filterset.is_valid():
        context["errors"] = filterset.errors
        return render(request, "inventory/journeys.html", context, status=400)
    page = CappedPaginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update({
        "page": page, "query": query.urlencode(),
        "rows": [(journey, *sla_words(journey, now)) for journey in page],
        "from_kpi": any(request.GET.get(name) for name in KPI_FILTERS),
    })
    return render(request, "inventory/journeys.html", context)


@screen("journeys")
@require_GET
def journey_csv(request):
    """The filtered journeys as CSV: the same filters and scope as the screen."""
    filterset = _filterset(request)
    if not filterset.is_valid():
        return render(request, "inventory/journeys.html", {"filterset": filterset, "errors": filterset.errors},
                      status=400)
    now = timezone.now()
    rows = ([j.business_id, j.get_kind_display(), j.location.code if j.location else "", j.channel, j.state,
             j.started_at.isoformat() if j.started_at else "", j.state_at.isoformat() if j.state_at else "",
             j.due_at.isoformat() if j.due_at else "", "yes" if sla_words(j, now)[1] else "no"]
            for j in filterset.qs.iterator(chunk_size=2000))
    return csv_response(f"journeys-{now:%Y%m%d-%H%M}.csv",
                        ["business_id", "kind", "location", "channel", "state", "started_at", "state_at", "due_at",
                         "stuck"], rows)


@screen("journeys")
@require_GET
def journey_detail(request, pk):
    journey = Journey.objects.restrict(request.user).select_related("location").filter(pk=pk).first()
    if journey is None:
        return not_found(request, f"No journey {pk} in your scope.")
    now = timezone.now()
    words, stuck = sla_words(journey, now)
    steps = journey.steps.select_related("source", "location").order_by("occurred_at", "id")
    legs = [(label, seconds_text(value)) for label, value in (
        ("Placed to ready for pickup", journey.ready_s), ("Received to refunded", journey.refund_s),
        ("Refunded to settled", journey.settle_s)) if value is not None]
    return render(request, "inventory/journey.html", {
        "journey": journey, "steps": steps, "sla": sla_for(journey.kind, journey.state), "sla_words": words,
        "stuck": stuck, "legs": legs, "now": now,
    })
