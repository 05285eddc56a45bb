"""The screens that compose several apps: the home page, My stores, the
store page and the region board (composed in controltower.web.boards)."""
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from controltower import records
from controltower.counts import CappedPaginator, capped_count
from controltower.answers import not_found, refused
from controltower.csvsafe import csv_response
from controltower.navigation import landing_for, screen
from controltower.permissions import may_see_rejections
from controltower.scoping import role_of, visible_locations
from controltower.when import when
from exceptions.services.queries import location_case_figures
from inventory.models import SKU, STATES, InventoryEvent, Position, RejectedEvent
from inventory.positions import count_history, negative_position_counts, search_positions

from . import boards
from .forms import PositionSearchForm

# The home page lists this many locations; the count above the table says how many there are.
HOME_LOCATION_LIMIT = 50


def _home_counts(user):
    """Live counts for the home page, each narrowed to the user's scope."""
    since = timezone.now() - timedelta(hours=24)
    counts = {
        "locations": visible_locations(user).count(),
        "skus": SKU.objects.filter(active=True).count(),
        "events_24h": capped_count(InventoryEvent.objects.filter(received_at__gte=since).restrict(user)),
        "negative_available": capped_count(Position.objects.filter(available__lt=0).restrict(user)),
    }
    # A rejected event may name no known location, so it cannot be scoped.
    if may_see_rejections(user):
        counts["rejections_pending"] = RejectedEvent.objects.waiting().restrict(user).count()
    return counts


@screen("home")
def home(request):
    # A role whose main screen is another (controltower.navigation) lands there.
    landing = landing_for(role_of(request.user))
    if landing is not None:
        try:
            return redirect(reverse(landing))
        except NoReverseMatch:  # a url conf without that screen (as the navigation shows no dead link)
            pass
    counts = _home_counts(request.user)
    locations = visible_locations(request.user).select_related("region")[:HOME_LOCATION_LIMIT]
    return render(request, "web/home.html", {"counts": counts, "locations": locations})

STORE_PAGE_SIZE = 50
NEGATIVE_POSITIONS_SHOWN = 100


@screen("stores")
@require_GET
def stores(request):
    """The user's locations with their open cases, and the positions with negative available stock."""
    page = Paginator(visible_locations(request.user).select_related("region"), STORE_PAGE_SIZE).get_page(
        request.GET.get("page"))
    on_page = [location.pk for location in page]
    cases = location_case_figures(on_page)
    negatives = negative_position_counts(on_page)
    rows = [{"location": location, "cases": cases.get(location.pk, {}), "negative": negatives.get(location.pk, 0)}
            for location in page]
    negative_positions = Position.objects.filter(available__lt=0).restrict(request.user).select_related(
        "location", "sku").order_by("available", "location__code", "sku__code")
    return render(request, "web/stores.html", {
        "page": page,
        "rows": rows,
        "negative_positions": negative_positions[:NEGATIVE_POSITIONS_SHOWN],
        "negative_total": capped_count(negative_positions),
        "shown": NEGATIVE_POSITIONS_SHOWN,
    })


# ---------------------------------------------------------------- region board

ESCALATED_SHOWN = 100


def _region_board(request):
    """(board, regions, refusal) for the request; refusal is the error
    response, if any. A regional ops lead sees their own region, an admin
    picks one (?region=CODE, else the first); board is None when no region is in scope."""
    regions = list(boards.regions_for(request.user))
    code = request.GET.get("region", "")
    region = next((r for r in regions if r.code == code), None) if code else (regions[0] if regions else None)
    if code and region is None:
        return None, regions, not_found(request, f"No region {code} in your scope.")
    if region is None:
        return None, regions, None
    sort = request.GET.get("sort", boards.DEFAULT_SORT)
    try:
        board = boards.region_board(region, sort=sort, reverse=request.GET.get("order") == "best")
    except ValueError as error:
        return None, regions, HttpResponseBadRequest(str(error))
    return board, regions, None


@screen("region-board")
@require_GET
def region_board(request):
    board, regions, refusal = _region_board(request)
    if refusal is not None:
        return refusal
    context = {"board": board, "regions": regions, "shown": ESCALATED_SHOWN, "now": timezone.now()}
    if board is not None:
        context["headers"] = _sort_headers(request, board)
        context["escalated"] = board.escalated[:ESCALATED_SHOWN]
        context["escalated_total"] = board.escalated.count()
    return render(request, "web/region_board.html", context)


def _sort_headers(request, board):
    """The store table's column headers: each a link sorting by it, worst
    first; the sorted column's link turns the order round."""
    sort = request.GET.get("sort", boards.DEFAULT_SORT)
    best_first = request.GET.get("order") == "best"
    headers = []
    for key, column in board.columns.items():
        current = key == sort
        query = {"region": board.region.code, "sort": key}
        if current and not best_first:
            query["order"] = "best"
        descending = column.worst_first_descending != (current and best_first)
        headers.append({
            "key": key, "label": column.label, "url": "?" + urlencode(query), "numeric": key != "store",
            "aria_sort": ("descending" if descending else "ascending") if current else None,
        })
    return headers


def _region_csv(request, table):
    """The region board's store table or escalated cases as CSV (same ?region= and ?sort=)."""
    board, _, refusal = _region_board(request)
    if refusal is not None:
        return refusal
    if board is None:
        return not_found(request, "No region in your scope.")
    header, rows = boards.store_table(board) if table == "stores" else boards.escalated_table(board.escalated)
    return csv_response(f"region-{board.region.code}-{table}.csv", header, rows)


@screen("region-board")
@require_GET
def region_stores_csv(request):
    return _region_csv(request, "stores")


@screen("region-board")
@require_GET
def region_escalated_csv(request):
    return _region_csv(request, "escalated")


# ---------------------------------------------------------------- store page

POSITIONS_PAGE_SIZE = 25
POSITION_COLUMNS = ("available", "reserved", "in_transit")  # the states the positions table always shows
COUNTS_SHOWN = 20
CASES_SHOWN = 20


@login_required
@require_GET
def store(request, code):
    """One store: KPIs, trends, open cases, positions (searchable; the
    #positions htmx fragment is this view too), counts and feeds."""
    location = visible_locations(request.user).filter(code=code).select_related("region").first()
    if location is None:
        return not_found(request, f"No location {code} in your scope.")
    form = PositionSearchForm(request.GET)
    if form.is_valid():  # an invalid search shows its errors and no positions
        found = form.cleaned_data
        state = found["state"]
        positions = search_positions(location, found["q"], state, found["negative"])
    else:
        state, positions = "", Position.objects.none()
    page_of_positions = Paginator(positions, POSITIONS_PAGE_SIZE).get_page(request.GET.get("page"))
    state_column = state if state not in ("", *POSITION_COLUMNS) else ""
    for position in page_of_positions:
        # the searched state's quantity, and the other states below zero, when the table has no column for them
        position.in_state = getattr(position, state_column) if state_column else None
        position.below_zero = [(name.replace("_", " "), getattr(position, name)) for name in STATES
                               if name not in (*POSITION_COLUMNS, state_column) and getattr(position, name) < 0]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "location": location, "form": form, "state_column": state_column,
        "positions": page_of_positions, "query": query.urlencode(), "now": timezone.now(),
    }
    if request.htmx and request.htmx.target == "positions":
        return render(request, "web/_store_positions.html", context)
    page = boards.store_page(location)
    context.update(
        page=page, cases=page.cases[:CASES_SHOWN], cases_total=page.cases.count(), cases_shown=CASES_SHOWN,
        counts=count_history(location)[:COUNTS_SHOWN], counts_shown=COUNTS_SHOWN,
    )
    return render(request, "web/store.html", context)


# ---------------------------------------------------------------- the records behind a number

RECORDS_PAGE_SIZE = 50


def _filter_fields(filterset):
    """The filter form's fields with their names in words ("received_since": "Received since")."""
    return [(name.replace("_", " ").capitalize().replace("Sku", "SKU"), filterset.form[name])
            for name in filterset.form.fields]


def _filters_set(filterset):
    """The filters a valid filterset applies, in words: "Locations DE001,DE002", a time as a time."""
    shown = []
    for label, field in _filter_fields(filterset):
        if field.value() in (None, ""):
            continue
        value = filterset.form.cleaned_data.get(field.name)
        if isinstance(value, date):  # a day or a time, as every screen says them (controltower.when)
            value = when(value)
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(item) for item in value)
        elif isinstance(value, str) and "_" in value and value == value.lower():  # a code ("transfer_in") in words
            value = value.replace("_", " ")
        shown.append(f"{label} {value}")
    return shown


def _records(request, name):
    """(the record list, its bound filterset, refusal) for the request; refusal is an error response."""
    record_list = records.get(name)
    if record_list is None:
        return None, None, not_found(request, f"There is no list of records called '{name}'.")
    if not record_list.may_see(request.user):
        return None, None, refused(request, f"{record_list.label} are not shown to your role.")
    filterset = record_list.filterset(request.GET, queryset=record_list.rows(request.user), request=request)
    return record_list, filterset, None


@login_required
@require_GET
def records_page(request, name):
    """The records of one list (controltower.records) as a table: the page a
    measured number's "Records behind it" opens."""
    record_list, filterset, refusal = _records(request, name)
    if refusal is not None:
        return refusal
    context = {"list": record_list, "filters": _filter_fields(filterset), "query": ""}
    if not filterset.is_valid():
        context["errors"] = filterset.errors
        return render(request, "web/records.html", context, status=400)
    page = CappedPaginator(filterset.qs, RECORDS_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context.update({"page": page, "rows": [records.cells(record_list, row) for row in page],
                    "query": query.urlencode(), "filters_set": _filters_set(filterset)})
    return render(request, "web/records.html", context)


@login_required
@require_GET
def records_csv(request, name):
    """The same records as CSV: the same filters and scope as the page, every page."""
    record_list, filterset, refusal = _records(request, name)
    if refusal is not None:
        return refusal
    if not filterset.is_valid():
        return HttpResponseBadRequest("; ".join(f"{field}: {' '.join(messages)}"
                                                for field, messages in filterset.errors.items()))
    rows = ([records.csv_value(value) for _column, value, _link in records.cells(record_list, row)]
            for row in filterset.qs.iterator(chunk_size=2000))
    return csv_response(f"{name}-{timezone.now():%Y%m%d-%H%M}.csv",
                        [column.label for column in record_list.columns], rows)


@screen("audit")
def audit_trail(request):
    """The audit trail (controltower.audit): the records page of its list, as the admin's screen."""
    return records_page(request, "audit")
