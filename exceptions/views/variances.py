"""The variances screen (planners, finance): snapshot and financial
variances by location and category with their drift class, the value at
risk and its trend, and the count variances. Computed in
exceptions.variances; CSV exports of each table."""
from decimal import Decimal

from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from controltower.csvsafe import csv_response
from controltower.navigation import screen

from .. import variances
from ..findings import CaseKind, Drift


# The export slug of each snapshot table.
EXPORTS = {"operational": CaseKind.SNAPSHOT_MISMATCH, "financial": CaseKind.FINANCIAL_VARIANCE}


def _tables(request, filters):
    return [{
        "kind": kind, "label": label, "export": f"variances-{slug}-csv",
        "rows": variances.by_location_and_category(request.user, kind, filters),
        "drift": variances.by_drift(request.user, kind, filters),
    } for slug, kind in EXPORTS.items() for label in [variances.KINDS[kind]]]


@screen("variances")
@require_GET
def variance_board(request):
    filters, errors = variances.read_filters(request.user, request.GET)
    tile, figure, summary, member = variances.value_at_risk(request.user, filters)
    context = {
        "filters": filters, "errors": errors, "query": filters.query(),
        "tables": _tables(request, filters), "counts": variances.count_variances(request.user, filters),
        "tile": tile, "value_tiles": [tile] if tile else [], "figure": figure, "summary": summary, "member": member,
        "regions": variances.regions_of(request.user), "categories": variances.categories(),
        "drifts": Drift.choices, "trend_days": variances.TREND_DAYS, "count_days": variances.COUNT_DAYS,
        "count_shown": variances.COUNT_VARIANCES_SHOWN,
    }
    if request.htmx and request.htmx.target == "variance-body":
        return render(request, "exceptions/_variances.html", context)
    return render(request, "exceptions/variances.html", context)


def _money(value):
    """Two decimals whatever the database's sum gave back."""
    return f"{Decimal(value):.2f}"


@screen("variances")
@require_GET
def variance_export(request, table):
    filters, errors = variances.read_filters(request.user, request.GET)
    if errors:
        return HttpResponseBadRequest(" ".join(f"{field}: {error}" for field, error in errors.items()),
                                      content_type="text/plain; charset=utf-8")
    if table == "counts":
        rows = ([row.location.code, row.sku.code, row.sku.category, row.state, row.counted_at.isoformat(),
                 row.counted, row.record, row.variance, _money(row.value), row.case_id or ""]
                for row in variances.count_variances(request.user, filters))
        return csv_response("count-variances.csv", ["location", "sku", "category", "state", "counted_at",
                                                    "counted", "record", "variance", "value_at_cost", "case"], rows)
    kind = EXPORTS[table]
    rows = ([row["location__code"], row["location__region__code"], row["sku__category"], row["drift"] or "",
             row["cases"], row["units"], _money(row["value"])]
            for row in variances.by_location_and_category(request.user, kind, filters))
    return csv_response(f"{table}-variances.csv", ["location", "region", "category", "drift", "cases",
                                                   "units_at_risk", "value_at_risk"], rows)
