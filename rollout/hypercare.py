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
from functools import partial
from datetime import timedelta
from decimal import Decimal

from django.db.models import Case as CaseWhen, Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Abs, Greatest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.text import slugify

from controltower import dashboards, metrics, rollups
from controltower.metrics import HIGHER
from controltower.scoping import ESTATE_ROLES, role_of, visible_locations
from controltower.when import when
from exceptions.models import Case
from exceptions.services.reported import KIND as REPORTED, Category as ReportCategory
from exceptions.services.sla import urgency
from inventory.models import Channel, CountVariance, Position, on_hand_expression

from .models import Criterion, Evaluation, GateKind, Wave
from .rollups import WAVE_DIMENSION, WAVE_REGION_DIMENSION, wave_region_member

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
    measure: tuple | None = None  # (metric key, "dimension:member") when it shows a registered metric

    @property
    def html(self):
        """The table cell as shown, built here rather than in the template: a region's table has
        1,500 cells, and the template's tags for each took most of the page's time. A metric's
        cell names it in data attributes, as its tile does (templates/dashboards/_tiles.html)."""
        classes = format_html(' class="kpi-cell kpi-{}"', slugify(self.status)) if self.status else ""
        if self.measure:
            classes = format_html('{} data-metric="{}" data-scope="{}" data-value="{}"', classes, *self.measure,
                                  self.text)
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


def _kpi_cell(metric, tile=None):
    """A KPI's value in its unit (a dashboards.Tile: as its tile shows it), its status in words
    (against the wave's target), and the records behind it."""
    if tile is None:
        return Cell(metric.format(None), "", metrics.Status.NO_DATA)
    return Cell(tile.text, tile.records_url, tile.status, measure=(metric.key, tile.scope))


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
    """The KPIs of the dashboard: every metric measured per store (so per wave
    and region too), but the gates' readiness measures."""
    return [metric for metric in metrics.metrics() if "locations" in metric.scopes and not metric.gate_only]


def gate_targets(wave):
    """{metric key: (threshold, label)}: the target each KPI of the wave is read against on its
    tiles, tables and trend lines, from the wave's gate criteria: the hypercare-exit criterion for
    the metric, else that of the latest gate measuring it (training: the training gate's). A
    criterion against a baseline uses the threshold its latest evaluation applied (none yet: the
    metric's own target). Metrics no gate measures keep their own target."""
    found = {}
    criteria = Criterion.objects.filter(template__program=wave.program_id).select_related("template")
    ranked = sorted(criteria, key=lambda c: (c.template.kind != GateKind.HYPERCARE_EXIT, -c.template.order, c.pk))
    for criterion in ranked:
        if criterion.metric in found:
            continue
        threshold = criterion.threshold
        if criterion.baseline:
            threshold = (Evaluation.objects.filter(gate__wave=wave, criterion=criterion, threshold__isnull=False)
                         .order_by("-at").values_list("threshold", flat=True).first())
            if threshold is None:
                continue
        try:
            metric = metrics.get(criterion.metric)
        except ValueError:  # a criterion naming a metric no longer registered sets no target
            continue
        label = (f"{criterion.template.get_kind_display()} gate: {criterion.get_comparator_display()} "
                 f"{metric.format(threshold)}")
        found[criterion.metric] = (Decimal(threshold), label)
    return found


def target_values(targets):
    """{metric key: threshold} of gate_targets, for the tiles and cells."""
    return {key: threshold for key, (threshold, _label) in targets.items()}


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
    targets = gate_targets(wave)
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
        lines_targets = [targets[metric.key]] if metric.key in targets else (
            [(metric.target, f"Target: {metric.target_text}")] if metric.target is not None else [])
        figure = dashboards.trend_figure(metric, series, marks=marks, targets=lines_targets, title=metric.label)
        target = targets[metric.key][0] if metric.key in targets else None
        shown.append(Trend(metric, figure, dashboards.trend_summary(metric, series[0][1], target)))
    return shown, without_data


# ------------------------------------------------------------------ stores' KPIs

def worst_stores(wave, stores, day, targets=None, live=None, now=None):
    """Per KPI, the wave's stores ranked worst first by the metric's good direction, each store's
    value as its tile shows it (rollups.latest: the day's, else its latest of the week before);
    stores with no data come last, said as no data. The rolled-up KPIs are ranked in the database
    (rollups.worst) and only the stores shown are read whole; the live ones are measured for every
    store (`live`: the page's dashboards.live_tiles, when it has them)."""
    targets = targets or {}
    table = Table("worst-stores", "Worst stores per KPI", ["KPI", "Rank", "Store", "Region", "Value"],
                  empty="No KPI values measured for these stores yet." if stores else "No stores in this wave yet.",
                  note=f"The {WORST_SHOWN} worst of the wave's stores for each KPI, each store's latest value "
                       f"rolled up (the day shown, or its last day with data in the week before).")
    if not stores or day is None:
        return table
    kpis = hypercare_metrics()
    codes = [store.code for store in stores]
    rolled = [metric for metric in kpis if not metric.live]
    ranked = rollups.worst([m.key for m in rolled], "location", codes, day,
                           {m.key for m in rolled if m.better == HIGHER}, WORST_SHOWN)
    candidates = {}
    for metric in rolled:
        known = ranked.get(metric.key, set())
        # Fewer known than shown: they are all there, and the first stores without data follow.
        unknown = [code for code in codes if code not in known][:max(WORST_SHOWN - len(known), 0)]
        candidates[metric.key] = known | set(unknown)
    read = {code for members in candidates.values() for code in members}
    found = dashboards.measured([m.key for m in rolled], "location", [code for code in codes if code in read], day,
                                targets, live={})
    found.update(dashboards.measured([m.key for m in kpis if m.live], "location", codes, day, targets, now, live))
    for metric in kpis:
        members = candidates.get(metric.key)
        rows = [(store, found[(metric.key, store.code)]) for store in stores
                if members is None or store.code in members]
        known = [(store, tile) for store, tile in rows if tile.value is not None]
        if not known:
            table.rows.append([Cell(metric.label), Cell(""), Cell("No store of the wave has data"), Cell(""),
                               _kpi_cell(metric, None)])
            continue
        worst_first = -1 if metric.better == HIGHER else 1
        known.sort(key=lambda pair: (-worst_first * pair[1].value, pair[0].code))
        unknown = [(store, tile) for store, tile in rows if tile.value is None]
        for rank, (store, tile) in enumerate((known + unknown)[:WORST_SHOWN], start=1):
            table.rows.append([Cell(metric.label), _number(rank), Cell(f"{store.code} {store.name}",
                               reverse("hypercare-location", args=[wave.pk, store.code])),
                               Cell(store.region.code), _kpi_cell(metric, tile)])
    return table


def store_kpis(wave, stores, day, title, targets=None, live=None, now=None):
    """The stores with every KPI as its tile shows it (a row per store, a column per KPI)."""
    targets = targets or {}
    kpis = hypercare_metrics()
    table = Table("stores", title, ["Store", "Region", *[m.label for m in kpis]], empty="No stores here.")
    found = dashboards.measured([m.key for m in kpis], "location", [s.code for s in stores], day, targets, now, live)
    for store in stores:
        link = reverse("hypercare-location", args=[wave.pk, store.code])
        table.rows.append([Cell(f"{store.code} {store.name}", link),
                           Cell(store.region.code),
                           *[_kpi_cell(m, found[(m.key, store.code)]) for m in kpis]])
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


# The metrics the open-cases table's "All ages" column counts (the same count as their tiles).
OPEN_CASE_METRICS = {1: "open_sev1_cases", 2: "open_sev2_cases"}


def open_cases(user, stores, now=None, among=None, scope=""):
    """The active cases of `stores` by severity and age (from opening), each count linking to those
    cases. `among`: the same stores as a query, for the count to join them in the database rather
    than name hundreds of ids (a wave's). `scope`: the page's rollup member ("dimension:member")
    when `stores` are all of it, so the totals say which tile they match."""
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
        measure = (OPEN_CASE_METRICS[severity], scope) if scope and severity in OPEN_CASE_METRICS else None
        row.append(Cell(str(total), _case_list(codes, severity, None, None) if total else "", number=total,
                        measure=measure))
        table.rows.append(row)
    return table


def reported_issues(user, stores, now=None, among=None):
    """The issues people reported at `stores` (kind reported) by category: active ones, of them
    severity 1 or 2, and those reported in the last 7 days, each count linking to those cases."""
    now = now or timezone.now()
    week_ago = now - timedelta(days=7)
    table = Table("reported-issues", "Issues people reported, by category",
                  ["Category", "Active", "Of them severity 1-2", "Reported in the last 7 days"],
                  empty="No store of this wave has reported an issue.",
                  note="Reported with \"Report an issue\" by the people in the stores, the PMO and the teams.")
    cases = Case.objects.restrict(user).filter(kind=REPORTED, location__in=stores if among is None
                                               else among.values("pk"))
    counts = {
        category: (active, severe, recent) for category, active, severe, recent in
        cases.values("details__category").annotate(
            active=Count("pk", filter=Q(status__in=Case.ACTIVE)),
            severe=Count("pk", filter=Q(status__in=Case.ACTIVE, severity__lte=2)),
            recent=Count("pk", filter=Q(opened_at__gte=week_ago)),
        ).order_by().values_list("details__category", "active", "severe", "recent")
    } if stores else {}
    codes = ",".join(store.code for store in stores)
    for label in ReportCategory.labels:  # a case keeps its category in words
        if label not in counts:
            continue
        active, severe, recent = counts[label]
        link = partial(metrics.records_url, reverse("cases"), kind=REPORTED, category=label, locations=codes)
        table.rows.append([
            Cell(label), Cell(str(active), link(status="active") if active else "", number=active),
            Cell(str(severe), link(status="active", severity_max=2) if severe else "", number=severe),
            Cell(str(recent), link(opened_after=week_ago) if recent else "", number=recent),
        ])
    return table


def _opened_between(oldest, newest, now):
    """Opened at or after `oldest` (None: any time) and before `newest` (now: up to now)."""
    condition = Q() if oldest is None else Q(opened_at__gte=oldest)
    return condition if newest >= now else condition & Q(opened_at__lt=newest)


def _case_list(codes, severity, opened_after, opened_before):
    """The case list showing exactly the cases counted (None: no bound)."""
    return metrics.records_url(reverse("cases"), status="active", severity=severity, locations=codes,
                               opened_after=opened_after, opened_before=opened_before)


def case_list_table(user, store, now=None):
    """The store's active cases, most urgent first."""
    table = Table("cases", f"Open cases at {store.code}", ["Case", "Severity", "Kind", "SKU", "Opened", "Status"],
                  empty="No open cases at this store.",
                  note=f"The {OPEN_CASES_SHOWN} most urgent; the case list has them all.")
    cases = _active_cases(user, [store]).select_related("sku").order_by(*urgency(now or timezone.now()))[:OPEN_CASES_SHOWN]
    for case in cases:
        table.rows.append([Cell(f"#{case.pk} {case.summary}", reverse("case-detail", args=[case.pk])),
                           _number(case.severity), Cell(case.get_kind_display()),
                           Cell(case.sku.code if case.sku_id else ""),
                           Cell(when(case.opened_at, store)),
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
                           Cell(when(variance.counted_at, store))])
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
        table.rows.append([Cell(channel.name), Cell("held back" if held else "sold"),
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
    kpis = [metric for metric in metrics.metrics() if dimension.part in metric.scopes and not metric.gate_only]
    if not kpis:
        return None
    names = dict(Channel.objects.values_list("code", "name"))
    codes = list(names)
    found = dashboards.measured([m.key for m in kpis], "channel", codes, day)
    table = Table("channel-kpis", "KPIs by channel, all stores", ["Channel", *[m.label for m in kpis]],
                  note="The channel rollups cover every store: they are not measured per store.")
    for code in codes:
        table.rows.append([Cell(names[code]), *[_kpi_cell(m, found[(m.key, code)]) for m in kpis]])
    return table


# ------------------------------------------------------------------ the pages

def _whole(user, scope):
    """`scope` when `user` sees every store (the tables then count all of the tiles' stores), else ""."""
    return scope if role_of(user) in ESTATE_ROLES else ""


def _charts(wave, dimension, member, lines, day, targets, now=None, live=None):
    shown, without_data = trends(wave, lines, day)
    return {"tiles": dashboards.tiles([m.key for m in hypercare_metrics()], dimension, member, day,
                                      targets=target_values(targets), now=now, live=live),
            "trends": shown, "trends_without_data": without_data, "period": period(wave, day)}


def _live(stores, tiles_of, targets, now, charts):
    """The live KPIs of the page's stores, and of its tiles' member (`tiles_of`: (dimension,
    member)) when it draws them: each measured once for both (dashboards.live_tiles)."""
    dimension, member = tiles_of
    groups = [("location", [store.code for store in stores])] + ([(dimension, [member])] if charts else [])
    return dashboards.live_tiles([m.key for m in hypercare_metrics()], groups, target_values(targets), now)


def wave_page(user, wave, now=None, charts=True):
    """`charts` False: the tables only (a CSV export)."""
    now = now or timezone.now()
    day = rollups.last_day()
    stores = wave_stores(wave, user)
    member = str(wave.pk)
    targets = gate_targets(wave)
    live = _live(stores, (WAVE_DIMENSION, member), targets, now, charts)
    page = {"day": day, "stores": stores,
            "tables": [regions_table(wave, stores), worst_stores(wave, stores, day, target_values(targets), live, now),
                       open_cases(user, stores, now, among=wave_locations(wave, user),
                                  scope=_whole(user, f"{WAVE_DIMENSION}:{member}")),
                       reported_issues(user, stores, now, among=wave_locations(wave, user))]}
    if charts:
        page.update(_charts(wave, WAVE_DIMENSION, member, [(wave.name, WAVE_DIMENSION, member)], day, targets, now,
                            live))
    return page


def region_page(user, wave, region, now=None, charts=True, stores=None):
    """The wave's stores in `region`: the tiles and the first trend line measure them (the wave's
    part of the region, rollout.rollups), as the table lists them. `stores`: the wave's stores
    `user` sees, when the caller has them already."""
    now = now or timezone.now()
    day = rollups.last_day()
    stores = [store for store in (wave_stores(wave, user) if stores is None else stores)
              if store.region_id == region.pk]
    targets = gate_targets(wave)
    member = wave_region_member(wave, region)
    live = _live(stores, (WAVE_REGION_DIMENSION, member), targets, now, charts)
    page = {"day": day, "stores": stores,
            "tables": [store_kpis(wave, stores, day, f"The wave's stores in {region.code}", target_values(targets),
                                  live, now),
                       open_cases(user, stores, now, scope=_whole(user, f"{WAVE_REGION_DIMENSION}:{member}"))]}
    if charts:
        page.update(_charts(wave, WAVE_REGION_DIMENSION, member,
                            [(f"{wave.name} in {region.code}", WAVE_REGION_DIMENSION, member),
                             (wave.name, WAVE_DIMENSION, str(wave.pk))], day, targets, now, live))
    return page


def location_page(user, wave, store, now=None, charts=True):
    day = rollups.last_day()
    page = {"day": day, "tables": [open_cases(user, [store], now, scope=f"location:{store.code}"),
                                   case_list_table(user, store, now)]}
    if charts:
        page.update(_charts(wave, "location", store.code, [(store.code, "location", store.code),
                                                           (wave.name, WAVE_DIMENSION, str(wave.pk))], day,
                            gate_targets(wave), now))
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
