"""What the PMO's screens show, read from the gate rules (rollout.gates) and
the kept evidence (Evaluation); the views only render it.

- The board: a program's waves as rows, its gate templates as columns, each
  cell one of four states, in words as well as colour:
    green   the gate passed, or it is open and every criterion is met (it
            may still wait for a sign-off or the go decision: the words say);
    amber   passing only by a waiver, or a sign-off went stale;
    red     a criterion fails (or was never measured), its waiver expired,
            or the gate has no measured criterion and nobody chose
            "sign-off only";
    sign-off only  no measured criterion, by the PMO's recorded choice: it
            passes on its sign-offs and is never shown green;
    waiting not yet open.
- A criterion as a screen shows it: value in the metric's unit, threshold,
  sample, the metric's definition from the registry, its trend.
- A wave's stores, each measured alone, to see which store holds it back.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from controltower import dashboards, metrics
from controltower.metrics import Scope, Window
from controltower.models import Role
from controltower.when import day

from . import criteria as gate_criteria
from . import flags, gates
from .evaluation import forecast, meets, scope_of
from .models import BlackoutWindow, Criterion, Evaluation, Gate, GateKind, Waiver, Wave, WaveLocation

GREEN, AMBER, RED, WAITING, SIGN_OFF_ONLY = "green", "amber", "red", "waiting", "sign-off-only"
STATE_WORDS = {GREEN: "Green", AMBER: "Amber", RED: "Red", WAITING: "Not yet open", SIGN_OFF_ONLY: "Sign-off only"}


# --------------------------------------------------------------------------
# Criteria as the screens show them
# --------------------------------------------------------------------------

def metric_of(key):
    """The registered metric, or None for a key no app registers (yet)."""
    try:
        return metrics.get(key)
    except ValueError:
        return None


def fmt(metric, value):
    if metric is None:
        return "no data" if value is None else str(value)
    return metric.format(value)


def threshold_text(criterion, metric, applied=None):
    """ "at least 95.0%", or with a baseline "at least the pilot's value -1.0 (93.2%)"."""
    words = Criterion.Comparator(criterion.comparator).label
    if not criterion.baseline:
        return f"{words} {fmt(metric, criterion.threshold)}"
    of = "the pilot's value" if criterion.baseline == Criterion.Baseline.PILOT else "the value before cutover"
    offset = f" {criterion.threshold.normalize():+f}" if criterion.threshold else ""
    applied_text = f" ({fmt(metric, applied)})" if applied is not None else " (no baseline yet)"
    return f"{words} {of}{offset}{applied_text}"


@dataclass
class CriterionView:
    criterion: Criterion
    metric: metrics.Metric | None
    state: gates.CriterionState
    forecast: object = None  # evaluation.Forecast for a red criterion
    records_url: str = ""  # where the records behind the value are listed (add_records_urls)
    trend: str = ""  # its evidence since the wave started, a Plotly figure (wave page)

    @property
    def label(self):
        return self.metric.label if self.metric else self.criterion.metric

    @property
    def definition(self):
        return self.metric.definition if self.metric else "This metric is not registered: it cannot be measured."

    @property
    def measured(self):
        latest = self.state.latest
        return "not measured yet" if latest is None else fmt(self.metric, latest.value)

    @property
    def measured_at(self):
        """When the value shown was measured (None: never)."""
        return None if self.state.latest is None else self.state.latest.at

    @property
    def threshold(self):
        latest = self.state.latest
        return threshold_text(self.criterion, self.metric, latest.threshold if latest else None)

    @property
    def word(self):
        """The criterion's state in words (waived is never shown as passing)."""
        if self.state.passed:
            return "Passing"
        if self.state.waived:
            return f"Waived until {day(self.state.waiver.expires_at)}"
        if self.state.latest is None:
            return "Not measured yet"
        if self.state.expired_waiver:
            return f"Failing: its waiver expired {day(self.state.expired_waiver.expires_at)}"
        return "Failing"

    @property
    def colour(self):
        return GREEN if self.state.passed else AMBER if self.state.waived else RED


def criterion_views(state: gates.GateState, at, with_forecast=True):
    views = []
    for criterion_state in state.criteria:
        criterion = criterion_state.criterion
        view = CriterionView(criterion, metric_of(criterion.metric), criterion_state)
        if criterion_state.latest is not None:
            view.records_url = criterion_state.latest.records_url  # the records as measured then
        if with_forecast and not criterion_state.counts and criterion_state.latest is not None:
            view.forecast = forecast(state.gate, criterion, at)
        views.append(view)
    return views


# --------------------------------------------------------------------------
# Board cells
# --------------------------------------------------------------------------

@dataclass
class Cell:
    template: object
    gate: Gate | None
    state: str
    words: str  # what the cell says beside its colour
    failing: int = 0

    @property
    def state_words(self):
        return STATE_WORDS[self.state]


def role_names(roles):
    return ", ".join(Role(role).label for role in roles)


def open_cell(gate, state: gates.GateState):
    """The cell of an open gate, from its state now."""
    if not state.criteria:
        if not state.sign_off_only:
            return Cell(gate.template, gate, RED, "No measured criterion; sign-off only not chosen")
        waits = f"; awaits sign-off: {role_names(state.missing_roles)}" if state.missing_roles else ""
        return Cell(gate.template, gate, SIGN_OFF_ONLY, "Sign-off only" + waits)
    red = [c for c in state.criteria if not c.counts]
    waived = [c for c in state.criteria if c.waived]
    stale = [s for s in state.sign_offs if s.stale]
    if red:
        unmeasured = sum(1 for c in red if c.latest is None)
        expired = sum(1 for c in red if c.expired_waiver)
        words = f"{len(red)} of {len(state.criteria)} criteria failing"
        if unmeasured == len(red):
            words = f"{len(red)} of {len(state.criteria)} criteria not measured yet"
        if expired:
            words += f"; {expired} waiver{'s' if expired > 1 else ''} expired"
        return Cell(gate.template, gate, RED, words, failing=len(red))
    if waived or stale:
        parts = []
        if waived:
            parts.append(f"{len(waived)} waived")
        if stale:
            parts.append(f"stale sign-off: {role_names(sorted({s.sign_off.role for s in stale}))}")
        return Cell(gate.template, gate, AMBER, "; ".join(parts))
    if state.missing_roles:
        return Cell(gate.template, gate, GREEN, f"Criteria met; awaits sign-off: {role_names(state.missing_roles)}")
    if gate.template.kind == GateKind.CUTOVER:
        return Cell(gate.template, gate, GREEN, "Criteria met; awaits the go decision")
    return Cell(gate.template, gate, GREEN, "Criteria met")


def _waived_at_pass(passed):
    """{gate id: [criterion ids]} of the passed gates that passed only by a
    waiver: one live at the pass, over a criterion whose evidence then failed.
    Three queries for any number of gates."""
    live = [w for w in Waiver.objects.filter(gate__in=passed, approved_at__isnull=False).select_related("gate")
            if w.is_live(w.gate.passed_at)]
    if not live:
        return {}
    at_pass = Q()
    for waiver in live:
        at_pass |= Q(gate_id=waiver.gate_id, criterion_id=waiver.criterion_id, at__lte=waiver.gate.passed_at)
    last = Evaluation.objects.filter(at_pass).values("gate_id", "criterion_id").annotate(last=Max("at")).order_by()
    rows = Q()
    for row in last:
        rows |= Q(gate_id=row["gate_id"], criterion_id=row["criterion_id"], at=row["last"])
    passed_then = {}  # the last evidence at the pass; of two at the same moment, the later kept
    for gate_id, criterion_id, ok in (Evaluation.objects.filter(rows).order_by("at", "pk")
                                      .values_list("gate_id", "criterion_id", "passed") if rows else []):
        passed_then[gate_id, criterion_id] = ok
    found = {}
    for waiver in live:
        if passed_then.get((waiver.gate_id, waiver.criterion_id)) is False:
            found.setdefault(waiver.gate_id, []).append(waiver.criterion_id)
    return found


def _measured_at_pass(passed):
    """The ids of the passed gates that had a measured criterion when they passed."""
    spans = {}
    for template_id, added, retired in Criterion.objects.filter(
            template_id__in={g.template_id for g in passed}).values_list("template_id", "added_at", "retired_at"):
        spans.setdefault(template_id, []).append((added, retired))
    return {gate.pk for gate in passed if gate.passed_at and any(
        (added is None or added <= gate.passed_at) and (retired is None or retired > gate.passed_at)
        for added, retired in spans.get(gate.template_id, ()))}


def passed_cell(gate, waived_criteria, measured=True):
    passed = day(gate.passed_at) if gate.passed_at else ""
    if not measured:
        return Cell(gate.template, gate, SIGN_OFF_ONLY, f"Passed {passed} on sign-off only")
    if waived_criteria:
        return Cell(gate.template, gate, AMBER, f"Passed {passed} with {len(waived_criteria)} waived")
    return Cell(gate.template, gate, GREEN, f"Passed {passed}")


@dataclass
class WaveRow:
    wave: Wave
    cells: list[Cell]
    stores: int
    days_left: int | None  # to the planned cutover; negative: overdue
    waiver_flags: list = field(default_factory=list)  # flags.WaiverFlag: waivers lapsing before the cutover
    go_live_flags: list = field(default_factory=list)  # flags.GoLiveFlag: stores disagreeing with the cutover

    @property
    def days_left_words(self):
        if self.wave.actual_cutover:
            return f"cut over {day(self.wave.actual_cutover)}"
        if self.days_left is None:
            return "no cutover planned"
        if self.days_left < 0:
            return f"{-self.days_left} days overdue"
        return "today" if self.days_left == 0 else f"{self.days_left} days left"


def program_waves(program, user):
    """The waves of `program` that `user` sees, in order: the board's rows."""
    return list(Wave.objects.restrict(user).filter(program=program).order_by("order"))


def board(program, user, at=None):
    """(gate templates in order, [WaveRow]) for the waves of `program` that `user` sees."""
    at = at or timezone.now()
    today = timezone.localdate(at)
    templates = list(program.gate_templates.order_by("order"))
    waves = program_waves(program, user)
    all_gates = list(Gate.objects.filter(wave__in=waves).select_related("template", "wave"))
    by_cell = {(g.wave_id, g.template_id): g for g in all_gates}
    passed = [g for g in all_gates if g.status == Gate.Status.PASSED]
    waived, measured = _waived_at_pass(passed), _measured_at_pass(passed)
    lapsing, disagreeing = flags.waivers_before_cutover(waves, at), flags.go_live_disagreements(waves)
    states = gates.gate_states([g for g in all_gates if g.status == Gate.Status.OPEN], at)
    stores = dict(WaveLocation.objects.filter(wave__in=waves).values("wave_id").annotate(n=Count("id"))
                  .values_list("wave_id", "n"))
    rows = []
    for wave in waves:
        cells = []
        for template in templates:
            gate = by_cell.get((wave.pk, template.pk))
            if gate is None or gate.status == Gate.Status.WAITING:
                cells.append(Cell(template, gate, WAITING, "Not yet open"))
            elif gate.status == Gate.Status.PASSED:
                cells.append(passed_cell(gate, waived.get(gate.pk, []), gate.pk in measured))
            else:
                cells.append(open_cell(gate, states[gate.pk]))
        days = (wave.planned_cutover - today).days if wave.planned_cutover else None
        rows.append(WaveRow(wave, cells, stores.get(wave.pk, 0), days, lapsing.get(wave.pk, []),
                            disagreeing.get(wave.pk, [])))
    return templates, rows


def cell_of(gate, at=None):
    """One gate's cell and its state (None for a gate not open)."""
    at = at or timezone.now()
    if gate.status == Gate.Status.WAITING:
        return Cell(gate.template, gate, WAITING, "Not yet open"), None
    if gate.status == Gate.Status.PASSED:
        state = gates.gate_state(gate, gate.passed_at)
        return passed_cell(gate, _waived_at_pass([gate]).get(gate.pk, []), bool(_measured_at_pass([gate]))), state
    state = gates.gate_state(gate, at)
    return open_cell(gate, state), state


# --------------------------------------------------------------------------
# The timeline: waves up to their cutover, blackout windows shaded
# --------------------------------------------------------------------------

DAY_MS = 86_400_000  # a bar's length on a date axis is in milliseconds
DANGER = "#b42318"  # blackouts and thresholds

def program_blackouts(program):
    """The program's blackout windows and those of the regions of its stores."""
    regions = WaveLocation.objects.filter(program=program).values("location__region_id")
    return BlackoutWindow.objects.filter(
        Q(program=program) | Q(program__isnull=True, region_id__in=regions)
    ).select_related("region").order_by("starts_on")


def timeline(rows, blackouts, today=None):
    """The timeline as a Plotly figure (JSON, drawn by static/js/figures.js):
    a bar per wave with a cutover date, from its start to its cutover;
    blackout windows shaded and named; today dotted. "" when no wave has a
    cutover date yet (the page says so)."""
    today = today or timezone.localdate()
    waves, starts, lengths, texts = [], [], [], []
    for row in rows:
        wave = row.wave
        end = wave.actual_cutover or wave.planned_cutover
        if end is None:
            continue
        start = timezone.localdate(wave.started_at)
        waves.append(wave.name)
        starts.append(start.isoformat())
        lengths.append(max((end - start).days, 1) * DAY_MS)
        texts.append(f"{wave.name}: cutover {day(end)}" + (" (done)" if wave.actual_cutover else " (planned)"))
    if not waves:
        return ""
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": b.starts_on.isoformat(),
               "x1": (b.ends_on + timedelta(days=1)).isoformat(), "y0": 0, "y1": 1, "fillcolor": DANGER,
               "opacity": 0.18, "line": {"width": 0}, "layer": "below"} for b in blackouts]
    # Every other window's name a line higher: two windows close together do not print over each other.
    notes = [{"x": b.starts_on.isoformat(), "xref": "x", "xanchor": "left", "y": 1, "yref": "paper",
              "yanchor": "bottom", "yshift": 14 * (n % 2), "showarrow": False, "font": {"size": 11, "color": DANGER},
              "text": "Blackout: " + b.name + (f" ({b.region.code})" if b.region_id else "")}
             for n, b in enumerate(blackouts)]
    shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": today.isoformat(), "x1": today.isoformat(),
                   "y0": 0, "y1": 1, "line": {"color": dashboards.INK, "width": 1, "dash": "dot"}})
    bars = {"type": "bar", "orientation": "h", "y": waves, "base": starts, "x": lengths, "text": texts,
            "hoverinfo": "text", "textposition": "none", "marker": {"color": dashboards.LINE_COLOURS[0]}}
    layout = {"height": 90 + 40 * len(waves), "margin": {"l": 150, "r": 20, "t": 44 if len(notes) > 1 else 30, "b": 40},
              "xaxis": {"type": "date", "color": dashboards.MUTED},
              "yaxis": {"autorange": "reversed", "color": dashboards.INK, "automargin": True},
              "shapes": shapes, "annotations": notes, "showlegend": False,
              "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
    return json.dumps({"data": [bars], "layout": layout}, separators=(",", ":"))


# --------------------------------------------------------------------------
# The wave page
# --------------------------------------------------------------------------

@dataclass
class GateView:
    gate: Gate
    cell: Cell
    state: gates.GateState | None
    criteria: list[CriterionView] = field(default_factory=list)
    pending_waivers: list = field(default_factory=list)
    waivers: list = field(default_factory=list)  # approved: reason, requester and approver stay shown
    history: list = field(default_factory=list)  # GateChange, newest first
    sign_off_only_choice: object = None  # the GateChange that chose sign-off only, in force
    upcoming: list = field(default_factory=list)  # a gate not yet open: the criteria it will measure

    @property
    def is_open(self):
        return self.gate.status == Gate.Status.OPEN

    @property
    def required_words(self):
        return role_names(self.gate.template.required_roles)

    @property
    def missing_words(self):
        return role_names(self.state.missing_roles) if self.state else ""


def trend(gate, criterion, since):
    """The criterion's kept evidence since `since` against its threshold, as a
    small Plotly figure (JSON); "" for fewer than two measurements (one point
    draws no trend: the table says its value)."""
    points = list(gate.evaluations.filter(criterion=criterion, at__gte=since).order_by("at").values_list(
        "at", "value", "threshold"))
    if len(points) < 2:
        return ""
    metric = metric_of(criterion.metric)
    at = [timezone.localtime(moment).isoformat() for moment, _, _ in points]
    measured = {"type": "scatter", "mode": "lines+markers", "name": metric.label if metric else criterion.metric,
                "x": at, "y": [None if value is None else float(value) for _, value, _ in points],
                "line": {"color": dashboards.LINE_COLOURS[0], "width": 2}, "marker": {"size": 4},
                "connectgaps": False}
    threshold = {"type": "scatter", "mode": "lines", "name": "threshold", "x": at,
                 "y": [None if value is None else float(value) for _, _, value in points],
                 "line": {"color": DANGER, "width": 1, "dash": "dash"}, "hoverinfo": "skip"}
    small = {"size": 9}
    layout = {"height": 90, "margin": {"l": 34, "r": 6, "t": 6, "b": 22}, "showlegend": False,
              "xaxis": {"type": "date", "tickfont": small, "nticks": 3, "color": dashboards.MUTED},
              "yaxis": {"tickfont": small, "nticks": 3, "color": dashboards.MUTED},
              "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)"}
    return json.dumps({"data": [measured, threshold], "layout": layout}, separators=(",", ":"))


def wave_gates(wave, at=None):
    """Every gate of `wave` in order, with its criteria, evidence and trends."""
    at = at or timezone.now()
    views = []
    for gate in wave.gates.select_related("template", "wave__program").order_by("template__order"):
        cell, state = cell_of(gate, at)
        view = GateView(gate, cell, state)
        if state is not None:
            view.criteria = criterion_views(state, at, with_forecast=gate.status == Gate.Status.OPEN)
            for c in view.criteria:
                if c.state.latest is not None:
                    c.trend = trend(gate, c.criterion, wave.started_at)
        view.pending_waivers = list(gate.waivers.filter(approved_at__isnull=True, expires_at__gt=at)
                                    .select_related("criterion", "requested_by"))
        view.waivers = list(gate.waivers.filter(approved_at__isnull=False)
                            .select_related("criterion", "requested_by", "approved_by").order_by("-approved_at"))
        if gate.status == Gate.Status.WAITING:
            view.upcoming = list(gate_criteria.active_criteria(gate.template, at))
        view.history = list(gate_criteria.history(gate.template))
        view.sign_off_only_choice = gate_criteria.sign_off_only_change(gate.template)
        views.append(view)
    return views


def add_records_urls(wave, gate_view, at=None):
    """Set the records_url of each criterion whose evidence keeps none (kept
    before evidence kept its link) from a measurement now: the registry's
    Reading says where the records behind a value are listed."""
    at = at or timezone.now()
    for view in gate_view.criteria:
        if view.metric is None or view.records_url:
            continue
        criterion = view.criterion
        window = Window(at - timedelta(hours=criterion.window_hours), at)
        view.records_url = metrics.measure(criterion.metric, scope_of(criterion, wave, window), window) \
            .reading.records_url


@dataclass
class StoreReadiness:
    location: object
    values: list  # [(criterion view, text, meets or None, records URL)] in the gate's criteria order
    failing: int


def store_criteria(gate_view):
    """The criteria of a gate that can be measured per store: over locations, registered."""
    return [c for c in gate_view.criteria
            if c.metric is not None and c.criterion.scope == Criterion.ScopeKind.LOCATIONS]


def store_readiness(wave, gate_view, at=None) -> list[StoreReadiness]:
    """Each store of the wave measured alone on the store_criteria of
    `gate_view` (its open gate); the stores failing most first. A baseline
    criterion is compared with the wave's applied threshold."""
    at = at or timezone.now()
    criteria = store_criteria(gate_view)
    rows = []
    for location in wave.locations.select_related("region").order_by("code"):
        values, failing = [], 0
        for view in criteria:
            criterion = view.criterion
            window = Window(at - timedelta(hours=criterion.window_hours), at)
            reading = metrics.measure(criterion.metric, Scope.of(locations={location.pk}), window).reading
            value = reading.value
            latest = view.state.latest  # its applied threshold (a baseline's is known once measured)
            if latest is not None:
                threshold = latest.threshold
            else:
                threshold = None if criterion.baseline else criterion.threshold
            ok = None if value is None else meets(value, criterion.comparator, threshold)
            failing += ok is False
            values.append((view, fmt(view.metric, value), ok, reading.records_url))
        rows.append(StoreReadiness(location, values, failing))
    rows.sort(key=lambda row: (-row.failing, row.location.code))
    return rows


def open_gate(gate_views):
    return next((view for view in gate_views if view.gate.status == Gate.Status.OPEN), None)


def days_left(wave, at=None):
    if wave.planned_cutover is None:
        return None
    return (wave.planned_cutover - timezone.localdate(at or timezone.now())).days
