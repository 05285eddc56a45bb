"""The Store-day sales screen: the tills' own totals per store and business
day (their POSLog) beside the units the ledger booked from their lines and
the units the ERP posted, for finance and the integration admin. It reads
inventory.till_totals, as GET /api/v1/poslog/store-days does."""
from datetime import date, timedelta

from django.db.models import Max
from django.shortcuts import render
from django.views.decorators.http import require_GET

from controltower.navigation import screen

from .models import TillTransaction
from .till_totals import store_day_sales

DAYS_SHOWN = 7
LONGEST_SPAN_DAYS = 92


def _days(request):
    """(start, end, errors) of the request; by default the last week of
    business days the tills have sent."""
    errors = {}
    latest = TillTransaction.objects.aggregate(day=Max("business_day"))["day"]
    days = {}
    for name in ("from", "to"):
        value = request.GET.get(name, "")
        if not value:
            continue
        try:
            days[name] = date.fromisoformat(value)
        except ValueError:
            errors[name] = f"a date as YYYY-MM-DD, not {value[:40]!r}."
    end = days.get("to") or (days["from"] + timedelta(days=DAYS_SHOWN - 1) if "from" in days else latest)
    start = days.get("from") or (end - timedelta(days=DAYS_SHOWN - 1) if end else None)
    if start and end and (end < start or end - start > timedelta(days=LONGEST_SPAN_DAYS - 1)):
        errors["to"] = f"on or after the first day, at most {LONGEST_SPAN_DAYS} days on."
    return start, end, errors


@screen("store-day-sales")
@require_GET
def store_day_sales_page(request):
    start, end, errors = _days(request)
    rows = store_day_sales(start, end) if start and end and not errors else []
    return render(request, "inventory/store_day_sales.html", {
        "start": start, "end": end, "errors": errors, "rows": rows,
        "gaps": sum(1 for row in rows if row.gap_units), "unplaced": sum(1 for row in rows if row.location is None),
    })
