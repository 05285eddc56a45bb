"""The hypercare dashboard: are the stores that went live stable?

For one wave (live waves first; by default the one that went live last):
KPI tiles of the latest rolled-up day, trend lines since go-live with the
go-live marked and the wave's hypercare-exit criteria drawn as target lines,
the worst stores per KPI, and the open cases by severity and age. Then
drill down: wave -> region -> store -> its SKUs or its channels, each a page
of its own (rollout.views).

Every measured number is a KPI rollup (controltower.rollups, KpiDay) read
through controltower.dashboards; the lists read current-state tables (cases,
positions, count variances), never the ledger. Every table is a `Table`, so
the page and its CSV export are the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case as CaseWhen, Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When, Window
from django.db.models.functions import Abs, Greatest, RowNumber
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.text import slugify

from controltower import dashboards, metrics, rollups
from controltower.metrics import HIGHER
from controltower.models import KpiDay
from controltower.scoping import visible_locations
from exceptions.models import URGENCY, Case
from inventory.models import Channel, CountVariance, Position, on_hand_expression

from .models import Criterion, Evaluation, GateKind, Wave
from .rollups import WAVE_DIMENSION

TREND_LEAD_DAYS = 7  # the trends start a week before go-live, so the change at cutover shows
WORST_SHOWN = 5  # stores per KPI in "worst stores"
ROWS_SHOWN = 100  # rows of the SKU tables (worst first); the CSV has the same rows
OPEN_CASES_SHOWN = 25
# Open cases by age: (label, from days, to days); None: no upper end.
AGE_BUCKETS = (("Under 1 day", 0, 1), ("1 to 3 days", 1, 3), ("3 to 7 days", 3, 7), ("7 days or more", 7, None))
SEVERITIES = (1, 2, 3, 4)


# ------------------------------------------------------------------ tables

@dataclass
class Cell:
    text: str
    url: str = ""
    status: str = ""  # a KPI's green / amber / red / no data, said in words next to the value
    number: int | None = None  # a quantity or count: the CSV gets it as a number (csvsafe quotes "-2" as text)


    @property
    def html(self):
        """The table cell as shown, built here rather than in the template: a region's table has
        1,500 cells, and the template's tags for each took most of the page's time."""
        classes = format_html(' class="kpi-cell kpi-{}"', slugify(self.status)) if self.status else ""
        content = format_html('<a href="{}">{}</a>', self.url, self.text) if self.url else conditional_escape(self.text)
        word = format_html(' <span class="kpi-status-word">{}</span>', self.status) \
            if self.status and self.status != "no data" else ""
        return format_html("<td{}>{}{}</td>", classes, content, word)

    @property
    def csv(self):
        if self.number is not None:
            return self.number
        if self.status in ("", metrics.Status.NO_DATA):  # "no data" says it already
            return self.text
        return f"{self.text} ({self.status})"


def _number(value):
    return Cell(str(value), number=value)


@dataclass
class Table:
    """A table of the page and its CSV export (`?format=csv&table=<name>`)."""

    name: str
    title: str
    header: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = "Nothing to show."
    note: str = ""

    def csv_rows(self):
        return [[cell.csv for cell in row] for row in self.rows]


def _kpi_cell(metric, row):
    """A KPI's value in its unit, its status in words, and the records behind it."""
    value = None if row is None else row.value
    return Cell(metric.format(value), "" if row is None else row.records_url, metric.status(value))


# ------------------------------------------------------------------ waves

def _live_first(wave):
    """Live (in hypercare) first, the latest go-live first; then closed, the same way; then
    the waves in preparation, the next cutover first (none planned: last)."""
    if wave.status in (Wave.Status.LIVE, Wave.Status.CLOSED):
        went_live = wave.actual_cutover.toordinal() if wave.actual_cutover else 0
        return (0 if wave.status == Wave.Status.LIVE else 1, -went_live, wave.pk)
    planned = wave.planned_cutover.toordinal() if wave.planned_cutover else float("inf")
    return (2, planned, wave.pk)


def waves_for(user):
    """The waves `user` sees, the ones in hypercare first."""
    return sorted(Wave.objects.restrict(user).select_related("program"), key=_live_first)


def pick_wave(waves, wanted):
    """The wave asked for (its id, as text), or the one that went live last; None without waves.
    Raises ValueError naming the field for an unknown wave."""
    if wanted in (None, ""):
        return waves[0] if waves else None
    found = next((wave for wave in waves if str(wave.pk) == str(wanted)), None)
    if found is None:
        raise ValueError(f"wave: no wave #{wanted} in your scope.")
    return found


def hypercare_metrics():
    """The KPIs of the dashboard: every metric measured per store (so per wave and region too)."""
    return [metric for metric in metrics.metrics() if "locations" in metric.scopes]


def exit_criteria(wave):
    """{metric key: [(threshold, label)]}: the wave's hypercare-exit criteria as target lines. A
    criterion against a baseline draws the threshold its latest evaluation applied (none yet: no line)."""
    lines = {}
    criteria = Criterion.objects.filter(template__program=wave.program_id, template__kind=GateKind.HYPERCARE_EXIT)
    for criterion in criteria:
        threshold = criterion.threshold
        if criterion.baseline:
            threshold = (Evaluation.objects.filter(gate__wave=wave, criterion=criterion, threshold__isnull=False)
                         .order_by("-at").values_list("threshold", flat=True).first())
            if threshold is None:
                continue
        try:
            metric = metrics.get(criterion.metric)
        except ValueError:  # a criterion naming a metric no longer registered draws no line
            continue
        label = f"Hypercare exit: {criterion.get_comparator_display()} {metric.format(threshold)}"
        lines.setdefault(criterion.metric, []).append((Decimal(threshold), label))
    return lines


def wave_locations(wave, user):
    """The wave's stores `user` sees, as a query."""
    return visible_locations(user).filter(wave_memberships__wave=wave)


def wave_stores(wave, user):
    """The wave's stores `user` sees, by code."""
    return list(wave_locations(wave, user).select_related("region").order_by("code"))


# ------------------------------------------------------------------ trends

@dataclass
class Trend:
    metric: metrics.Metric
    figure: str
    summary: str


def period(wave, day):
    """The trends' days: from a week before go-live (or the last 30 days before a go-live) to `day`."""
    if day is None:
        return None, None
    start = wave.actual_cutover - timedelta(days=TREND_LEAD_DAYS) if wave.actual_cutover else day - timedelta(days=30)
    return min(start, day), day


def trends(wave, lines, day):
    """One figure per KPI with data in the period, and the KPIs without (said, not drawn as empty
    axes). `lines`: [(name, dimension, member)], the first one summarised in words."""
    first, last = period(wave, day)
    if first is None:
        return [], []
    targets = exit_criteria(wave)
    marks = [(wave.actual_cutover, "Go-live")] if wave.actual_cutover and wave.actual_cutover >= first else []
    shown, without_data = [], []
    kpis = hypercare_metrics()
    # one query per line for every KPI, not one per KPI and line
    by_line = [(name, rollups.series_of([m.key for m in kpis], dimension, member, first, last))
               for name, dimension, member in lines]
    for metric in kpis:
        series = [(name, found[metric.key]) for name, found in by_line]
        if not any(row.value is not None for _, rows in series for row in rows):
            without_data.append(metric)
            continue
        lines_targets = targets.get(metric.key) or (
            [(metric.target, f"Target: {metric.target_text}")] if metric.target is not None else [])
        figure = dashboards.trend_figure(metric, series, marks=marks, targets=lines_targets, title=metric.label)
        shown.append(Trend(metric, figure, dashboards.trend_summary(metric, series[0][1])))
    return shown, without_data


# ------------------------------------------------------------------ stores' KPIs

def worst_stores(wave, stores, day):
    """Per KPI, the wave's stores ranked worst first by the metric's good direction on `day`;
    stores with no data come last, said as no data."""
    table = Table("worst-stores", "Worst stores per KPI", ["KPI", "Rank", "Store", "Region", "Value"],
                  empty="No stores in this wave yet.",
                  note=f"The {WORST_SHOWN} worst of the wave's stores for each KPI on the latest day rolled up.")
    if not stores or day is None:
        return table
    kpis = hypercare_metrics()
    ranked = _worst_rows(kpis, [store.code for store in stores], day)
    by_code = {store.code: store for store in stores}
    for metric in kpis:
        rows = ranked.get(metric.key, [])
        if all(row.value is None for row in rows):
            table.rows.append([Cell(metric.label), Cell(""), Cell("No store of the wave has data"), Cell(""),
                               _kpi_cell(metric, None)])
            continue
        shown = [(by_code[row.member], row) for row in rows]
        # Fewer rows than places: the other stores were never rolled up for it (no data, last).
        named = {row.member for row in rows}
        shown += [(by_code[code], None) for code in sorted(by_code) if code not in named][:WORST_SHOWN - len(rows)]
        for rank, (store, row) in enumerate(shown, start=1):
            table.rows.append([Cell(metric.label), _number(rank), Cell(f"{store.code} {store.name}",
                               reverse("hypercare-location", args=[wave.pk, store.code])),
                               Cell(store.region.code), _kpi_cell(metric, row)])
    return table


def _worst_rows(kpis, codes, day):
    """{metric: its WORST_SHOWN worst location rows of `day` among `codes`, worst first}: ranked
    in the database (the lowest value of a higher-is-better KPI first, the highest of the others;
    no data last; ties by store code), so only the rows shown are read."""
    higher = [metric.key for metric in kpis if metric.better == HIGHER]
    badness = CaseWhen(When(metric__in=higher, then=F("value")), default=-F("value"))
    rows = KpiDay.objects.filter(
        metric__in=[metric.key for metric in kpis], dimension="location", member__in=codes, day=day,
    ).annotate(
        rank=Window(RowNumber(), partition_by=[F("metric")], order_by=[badness.asc(nulls_last=True), F("member")]),
    ).filter(rank__lte=WORST_SHOWN).only("metric", "member", "value", "records_url")
    ranked = {}
    for row in sorted(rows, key=lambda row: (row.metric, row.rank)):
        ranked.setdefault(row.metric, []).append(row)
    return ranked


def _rows_of(codes_by_metric, day):
    """{(metric, store code): KpiDay} of the location rollups of `day` for the stores named per metric,
    with what a cell shows (value, records_url): not the details."""
    if not codes_by_metric:
        return {}
    wanted = Q()
    for metric, codes in codes_by_metric.items():
        wanted |= Q(metric=metric, member__in=codes)
    rows = KpiDay.objects.filter(wanted, dimension="location", day=day).only("metric", "member", "value", "records_url")
    return {(row.metric, row.member): row for row in rows}


def store_kpis(wave, stores, day, title):
    """The stores with every KPI of `day` (a row per store, a column per KPI)."""
    kpis = hypercare_metrics()
    table = Table("stores", title, ["Store", "Region", *[m.label for m in kpis]], empty="No stores here.")
    found = _rows_of({m.key: [s.code for s in stores] for m in kpis}, day) if day else {}
    for store in stores:
        link = reverse("hypercare-location", args=[wave.pk, store.code])
        table.rows.append([Cell(f"{store.code} {store.name}", link),
                           Cell(store.region.code),
                           *[_kpi_cell(m, found.get((m.key, store.code))) for m in kpis]])
    return table


def regions_table(wave, stores):
    table = Table("regions", "Regions of the wave", ["Region", "Stores of the wave"],
                  empty="No stores in this wave yet.")
    by_region = {}
    for store in stores:
        by_region.setdefault(store.region, []).append(store)
    for region, members in sorted(by_region.items(), key=lambda item: item[0].code):
        link = reverse("hypercare-region", args=[wave.pk, region.code])
        table.rows.append([Cell(f"{region.code} {region.name}", link),
                           Cell(", ".join(store.code for store in members))])
    return table


# ------------------------------------------------------------------ cases

def _active_cases(user, stores):
    """`stores`: Locations, or a query of them."""
    return Case.objects.restrict(user).filter(status__in=Case.ACTIVE, location__in=stores)


def open_cases(user, stores, now=None, among=None):
    """The active cases of `stores` by severity and age (from opening), each count linking to those
    cases. `among`: the same stores as a query, for the count to join them in the database rather
    than name hundreds of ids (a wave's)."""
    now = now or timezone.now()
    buckets = [(label, now - timedelta(days=low), now - timedelta(days=high) if high is not None else None)
               for label, low, high in AGE_BUCKETS]
    # One pass: each case's age bucket (its index in AGE_BUCKETS), counted by severity.
    bucket = CaseWhen(*[When(_opened_between(oldest, newest, now), then=Value(n))
                        for n, (_, newest, oldest) in enumerate(buckets)], output_field=IntegerField())
    counts = {
        f"s{severity}_{n}": count for severity, n, count in
        _active_cases(user, stores if among is None else among.values("pk"))
        .annotate(bucket=bucket).values("severity", "bucket").annotate(count=Count("pk")).order_by()
        .values_list("severity", "bucket", "count")
    } if stores else {}
    table = Table("open-cases", "Open cases by severity and age", ["Severity", *[b[0] for b in buckets], "All ages"],
                  note="Active cases (open to waiting), by the time since they were opened.")
    codes = ",".join(store.code for store in stores)
    for severity in SEVERITIES:
        row, total = [Cell(f"Severity {severity}")], 0
        for n, (_, newest, oldest) in enumerate(buckets):
            count = counts.get(f"s{severity}_{n}", 0)
            total += count
            row.append(Cell(str(count), _case_list(codes, severity, oldest, newest if n else None) if count else "",
                            number=count))
        row.append(Cell(str(total), _case_list(codes, severity, None, None) if total else "", number=total))
        table.rows.append(row)
    return table


def _opened_between(oldest, newest, now):
    """Opened at or after `oldest` (None: any time) and before `newest` (now: up to now)."""
    condition = Q() if oldest is None else Q(opened_at__gte=oldest)
    return condition if newest >= now else condition & Q(opened_at__lt=newest)


def _case_list(codes, severity, opened_after, opened_before):
    """The case list showing exactly the cases counted (None: no bound)."""
    return metrics.records_url(reverse("cases"), status="active", severity=severity, locations=codes,
                               opened_after=opened_after, opened_before=opened_before)


def case_list_table(user, store):
    """The store's active cases, most urgent first."""
    table = Table("cases", f"Open cases at {store.code}", ["Case", "Severity", "Kind", "SKU", "Opened", "Status"],
                  empty="No open cases at this store.",
                  note=f"The {OPEN_CASES_SHOWN} most urgent; the case list has them all.")
    cases = _active_cases(user, [store]).select_related("sku").order_by(*URGENCY)[:OPEN_CASES_SHOWN]
    for case in cases:
        table.rows.append([Cell(f"#{case.pk} {case.summary}", reverse("case-detail", args=[case.pk])),
                           _number(case.severity), Cell(case.get_kind_display()),
                           Cell(case.sku.code if case.sku_id else ""),
                           Cell(timezone.localtime(case.opened_at).strftime("%d %b %Y %H:%M")),
                           Cell(case.get_status_display())])
    return table


# ------------------------------------------------------------------ SKUs and channels of a store

def count_variances(store):
    """The latest count of each SKU and state at the store, the largest variance first."""
    latest = CountVariance.objects.filter(location=OuterRef("location"), sku=OuterRef("sku"), state=OuterRef("state")) \
        .order_by("-counted_at").values("counted_at")[:1]
    rows = (CountVariance.objects.filter(location=store, variance__isnull=False, counted_at=Subquery(latest))
            .select_related("sku").annotate(size=Abs("variance")).order_by("-size", "sku__code")[:ROWS_SHOWN])
    table = Table("count-variances", "Count variances, largest first",
                  ["SKU", "Description", "State", "Counted", "Record", "Variance", "Within tolerance", "Counted at"],
                  empty="No counts with a record to compare at this store.",
                  note=f"The latest count of each SKU and state; the {ROWS_SHOWN} largest variances.")
    for variance in rows:
        table.rows.append([Cell(variance.sku.code), Cell(variance.sku.description), Cell(variance.state),
                           _number(variance.counted), _number(variance.record), _number(variance.variance),
                           Cell({True: "yes", False: "no", None: "not known"}[variance.within_tolerance]),
                           Cell(timezone.localtime(variance.counted_at).strftime("%d %b %Y %H:%M"))])
    return table


def positions(store):
    """The store's positions, the lowest available first (negative stock on top)."""
    rows = (Position.objects.filter(location=store).select_related("sku").annotate(stock=on_hand_expression())
            .order_by("available", "sku__code")[:ROWS_SHOWN])
    table = Table("positions", "Positions, lowest available first",
                  ["SKU", "Description", "Available", "Reserved", "On hand", "Safety stock", "ATP (online)"],
                  empty="No positions at this store.", note=f"The {ROWS_SHOWN} lowest available.")
    for position in rows:
        table.rows.append([Cell(position.sku.code), Cell(position.sku.description), _number(position.available),
                           _number(position.reserved), _number(position.stock), _number(position.safety_stock),
                           _number(position.atp)])
    return table


def channel_stock(store):
    """What each channel can promise at the store now (ATP as it sees it: the online channels
    hold back safety stock, the till does not), from the store's positions."""
    figures = Position.objects.filter(location=store).aggregate(
        skus=Count("pk"),
        held_back=Sum(Greatest(F("available") - F("safety_stock"), 0)),
        held_back_zero=Count("pk", filter=Q(available__lte=F("safety_stock"))),
        all_of=Sum(Greatest(F("available"), 0)),
        all_of_zero=Count("pk", filter=Q(available__lte=0)),
    )
    table = Table("channel-stock", "Available to promise by channel",
                  ["Channel", "Safety stock", "ATP units", "SKUs with nothing to promise", "SKUs at the store"],
                  empty="No channels defined.", note="From the store's positions now (current state).")
    for channel in Channel.objects.all():
        held = channel.holds_back_safety_stock
        table.rows.append([Cell(f"{channel.name} ({channel.code})"), Cell("held back" if held else "sold"),
                           _number(figures["held_back" if held else "all_of"] or 0),
                           _number(figures["held_back_zero" if held else "all_of_zero"]), _number(figures["skus"])])
    return table


def channel_kpis(day):
    """The KPIs rolled up per channel on `day` (estate-wide: the channel rollups are not per store);
    None while no app registers the channel dimension or no metric is measured per channel."""
    try:
        dimension = rollups.dimension("channel")
    except ValueError:
        return None
    kpis = [metric for metric in metrics.metrics() if dimension.part in metric.scopes]
    if not kpis:
        return None
    codes = list(Channel.objects.values_list("code", flat=True))
    found = rollups.on_day([m.key for m in kpis], "channel", codes, day) if day else {}
    table = Table("channel-kpis", "KPIs by channel, all stores", ["Channel", *[m.label for m in kpis]],
                  note="The channel rollups cover every store: they are not measured per store.")
    for code in codes:
        table.rows.append([Cell(code), *[_kpi_cell(m, found.get((m.key, code))) for m in kpis]])
    return table


# ------------------------------------------------------------------ the pages

def _charts(wave, dimension, member, lines, day):
    shown, without_data = trends(wave, lines, day)
    return {"tiles": dashboards.tiles([m.key for m in hypercare_metrics()], dimension, member, day),
            "trends": shown, "trends_without_data": without_data, "period": period(wave, day)}


def wave_page(user, wave, now=None, charts=True):
    """`charts` False: the tables only (a CSV export)."""
    day = rollups.last_day()
    stores = wave_stores(wave, user)
    member = str(wave.pk)
    page = {"day": day, "stores": stores,
            "tables": [regions_table(wave, stores), worst_stores(wave, stores, day),
                       open_cases(user, stores, now, among=wave_locations(wave, user))]}
    if charts:
        page.update(_charts(wave, WAVE_DIMENSION, member, [(wave.name, WAVE_DIMENSION, member)], day))
    return page


def region_page(user, wave, region, now=None, charts=True, stores=None):
    """The wave's stores in `region`; the tiles and trends are the region's rollup (all its stores).
    `stores`: the wave's stores `user` sees, when the caller has them already."""
    day = rollups.last_day()
    stores = [store for store in (wave_stores(wave, user) if stores is None else stores)
              if store.region_id == region.pk]
    page = {"day": day, "stores": stores,
            "tables": [store_kpis(wave, stores, day, f"The wave's stores in {region.code}"),
                       open_cases(user, stores, now)]}
    if charts:
        page.update(_charts(wave, "region", region.code, [(f"Region {region.code}", "region", region.code),
                                                          (wave.name, WAVE_DIMENSION, str(wave.pk))], day))
    return page


def location_page(user, wave, store, now=None, charts=True):
    day = rollups.last_day()
    page = {"day": day, "tables": [open_cases(user, [store], now), case_list_table(user, store)]}
    if charts:
        page.update(_charts(wave, "location", store.code, [(store.code, "location", store.code),
                                                           (wave.name, WAVE_DIMENSION, str(wave.pk))], day))
    return page


def skus_page(store):
    return {"tables": [count_variances(store), positions(store)]}


def channels_page(store):
    day = rollups.last_day()
    tables = [channel_stock(store)]
    kpis = channel_kpis(day)
    if kpis is not None:
        tables.append(kpis)
    return {"day": day, "tables": tables}


def table_named(tables, name):
    """The table to export; ValueError naming the field for an unknown one."""
    found = next((table for table in tables if table.name == name), None)
    if found is None:
        raise ValueError(f"table: no table '{name}' here; one of {', '.join(t.name for t in tables)}.")
    return found
