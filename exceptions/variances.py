"""What the variances screen shows: the active snapshot variances
(operational: on-hand snapshots; financial: the ERP's valuation snapshots)
by location and SKU category with their drift class, the value at risk and
its trend from the KPI rollups, and the count variances beyond tolerance,
worst first. Everything is narrowed to what the person sees
(controltower.scoping) and to the screen's filters."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Sum
from django.db.models.functions import Abs
from django.urls import reverse
from django.utils import timezone

from controltower import metrics, rollups
from controltower.dashboards import tiles, trend_figure, trend_summary
from controltower.models import Role
from controltower.scoping import ESTATE_ROLES, role_of, visible_locations
from inventory.models import SKU, CountVariance, Location, Region

from .findings import CaseKind, Drift
from .models import Case, CaseLink

VALUE_METRIC = "variance_value_at_risk"
TREND_DAYS = 30
COUNT_DAYS = 30  # count variances counted in the last this many days
COUNT_VARIANCES_SHOWN = 100
KINDS = {
    CaseKind.SNAPSHOT_MISMATCH: "Operational (on-hand snapshots)",
    CaseKind.FINANCIAL_VARIANCE: "Financial (ERP valuation snapshots)",
}


@dataclass(frozen=True)
class Filters:
    location: Location | None = None
    region: Region | None = None
    category: str = ""
    drift: str = ""

    def query(self, **extra):
        """The filters as a query string (for links and exports)."""
        values = {
            "location": self.location.code if self.location else "",
            "region": self.region.code if self.region else "",
            "category": self.category, "drift": self.drift, **extra,
        }
        return urlencode({key: value for key, value in values.items() if value})


def read_filters(user, params):
    """Filters from a query string; a value the person cannot pick is an
    error naming the field (returned with the filters that were valid)."""
    errors = {}
    location = region = None
    if code := params.get("location", "").strip():
        location = visible_locations(user).filter(code=code).first()
        if location is None:
            errors["location"] = f"No location '{code}' in your scope."
    if code := params.get("region", "").strip():
        region = regions_of(user).filter(code=code).first()
        if region is None:
            errors["region"] = f"No region '{code}' in your scope."
    category = params.get("category", "").strip()
    drift = params.get("drift", "").strip()
    if drift and drift not in Drift.values:
        errors["drift"] = f"Unknown drift class '{drift}': one of {', '.join(Drift.values)}."
        drift = ""
    return Filters(location, region, category, drift), errors


def regions_of(user):
    return Region.objects.filter(locations__in=visible_locations(user)).distinct().order_by("code")


def categories():
    return list(SKU.objects.order_by("category").values_list("category", flat=True).distinct())


def _narrowed(queryset, filters, location="location", sku="sku"):
    if filters.location:
        queryset = queryset.filter(**{location: filters.location})
    if filters.region:
        queryset = queryset.filter(**{f"{location}__region": filters.region})
    if filters.category:
        queryset = queryset.filter(**{f"{sku}__category": filters.category})
    return queryset


def variance_cases(user, kind, filters):
    """The active cases of one snapshot kind `user` sees, filtered."""
    cases = _narrowed(Case.objects.filter(kind=kind, status__in=Case.ACTIVE).restrict(user), filters)
    return cases.filter(drift=filters.drift) if filters.drift else cases


def cases_link(kind, location_code="", drift=""):
    """The case queue listing the active cases behind a row (the queue has no category filter)."""
    query = {"kind": kind, "status": "active", "location": location_code, "drift": drift}
    return reverse("cases") + "?" + urlencode({key: value for key, value in query.items() if value})


def by_location_and_category(user, kind, filters):
    """Rows of location x SKU category x drift class: cases, units and value
    at risk, largest value first."""
    rows = (
        variance_cases(user, kind, filters)
        .values("location__code", "location__name", "location__region__code", "sku__category", "drift")
        .annotate(cases=Count("id"), units=Sum("quantity_at_risk"), value=Sum("value_at_risk"))
        .order_by("-value", "location__code", "sku__category", "drift")
    )
    labels = dict(Drift.choices)
    return [{
        **row, "drift_label": labels.get(row["drift"], "Not classified"),
        "url": cases_link(kind, row["location__code"], row["drift"]),
    } for row in rows]


def by_drift(user, kind, filters):
    """The cases of one kind per drift class (every class, none left out), with their value."""
    found = {row["drift"]: row for row in variance_cases(user, kind, filters).values("drift")
             .annotate(cases=Count("id"), value=Sum("value_at_risk"))}
    location = filters.location.code if filters.location else ""
    return [{
        "drift": code, "label": label, "cases": found.get(code, {}).get("cases", 0),
        "value": found.get(code, {}).get("value"), "url": cases_link(kind, location, code),
    } for code, label in Drift.choices if kind == CaseKind.FINANCIAL_VARIANCE or code != Drift.COST_MISMATCH]


def count_variances(user, filters, now=None):
    """Count variances beyond tolerance counted in the last COUNT_DAYS, worst
    first (the variance's value at the SKU's unit cost), each with the active
    or latest case opened on its count."""
    now = now or timezone.now()
    value = ExpressionWrapper(Abs(F("variance")) * F("sku__unit_cost"),
                              output_field=DecimalField(max_digits=20, decimal_places=4))
    found = _narrowed(
        CountVariance.objects.filter(within_tolerance=False, counted_at__gte=now - timedelta(days=COUNT_DAYS))
        .restrict(user), filters)
    rows = list(found.select_related("location", "sku").annotate(value=value)
                .order_by("-value", "-counted_at")[:COUNT_VARIANCES_SHOWN])
    cases = dict(
        CaseLink.objects.filter(kind=CaseLink.Kind.EVENT, object_id__in=[row.event_id for row in rows],
                                case__kind=CaseKind.COUNT_VARIANCE)
        .order_by("object_id", "case_id").values_list("object_id", "case_id")
    )
    for row in rows:
        row.case_id = cases.get(row.event_id)
    return rows


def trend_member(user, filters):
    """Which rollup member the value-at-risk tile and trend read: the
    location or region filtered on, else the whole of what the person sees
    (the estate, a regional ops' region, a store manager's only store);
    None when that is no single member (a manager of several stores)."""
    if filters.location:
        return "location", filters.location.code
    seen = visible_locations(user)
    if filters.region:
        whole = not Location.objects.filter(region=filters.region, active=True).exclude(pk__in=seen).exists()
        return ("region", filters.region.code) if whole else None
    role = role_of(user)
    if role in ESTATE_ROLES:
        return rollups.ESTATE, ""
    if role == Role.REGIONAL_OPS and user.profile.region_id:
        return "region", user.profile.region.code
    only = list(seen.filter(active=True).values_list("code", flat=True)[:2])
    return ("location", only[0]) if len(only) == 1 else None


def value_at_risk(user, filters):
    """(the tile, the trend figure JSON or None, its summary, the member's words)."""
    metric = metrics.get(VALUE_METRIC)
    member = trend_member(user, filters)
    day = rollups.last_day()
    if member is None:
        return None, None, "Pick one of your locations to see its value at risk over time.", ""
    dimension, code = member
    tile = tiles([VALUE_METRIC], dimension, code, day)[0]
    if day is None:
        return tile, None, trend_summary(metric, []), _member_words(dimension, code)
    rows = rollups.series(VALUE_METRIC, dimension, code, day - timedelta(days=TREND_DAYS - 1), day)
    figure = trend_figure(metric, [(code or "Estate", rows)],
                          targets=[(metric.target, f"Target {metric.target_text}")])
    return tile, figure, trend_summary(metric, rows), _member_words(dimension, code)


def _member_words(dimension, code):
    return "the whole estate" if dimension == rollups.ESTATE else f"{dimension} {code}"
