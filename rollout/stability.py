"""Where the executive lands: is each live wave stable, what are the worst
problems, which KPIs are red.

The verdict of a live wave comes from its hypercare-exit criteria as last
evaluated (rollout.gates, the same evidence the gate passes on):

    stable       every exit criterion passes;
    at risk      none fails badly: a failing one is waived, not measured yet,
                 or its KPI is not red in the metric registry (just short of
                 the exit threshold);
    not stable   an exit criterion fails, unwaived, with its KPI red.

Sign-offs do not make a wave unstable: they are the exit's governance, said
on the wave page. The problems are the active cases at the live waves'
stores, the largest value at risk first, then the most severe. The KPIs are
the wave's rollup tiles (controltower.dashboards), red first, each with the
last days as a sparkline drawn on the server (no chart library on the landing).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from controltower import dashboards, metrics, rollups
from controltower.metrics import Status
from controltower.scoping import visible_locations
from exceptions.models import Case

from .gates import CriterionState, gate_states
from .hypercare import gate_targets, hypercare_metrics, target_values
from .models import Gate, GateKind, GateTemplate, Wave
from .rollups import WAVE_DIMENSION

STABLE, AT_RISK, NOT_STABLE = "stable", "at risk", "not stable"
PROBLEMS_SHOWN = 3
SPARKLINE_DAYS = 14
# Red first, then amber; the KPIs without a verdict last.
STATUS_ORDER = {Status.RED: 0, Status.AMBER: 1, Status.GREEN: 2, Status.NO_TARGET: 3, Status.NO_DATA: 4}


@dataclass
class Reason:
    """One exit criterion as it stands, in words."""

    text: str
    verdict: str


@dataclass
class Verdict:
    wave: Wave
    verdict: str
    reasons: list[Reason] = field(default_factory=list)  # the criteria that are not passing, worst first
    measured_at: object = None  # the latest evaluation behind it; None: never evaluated
    criteria: int = 0

    @property
    def slug(self):
        return self.verdict.replace(" ", "-")


def _criterion_verdict(state):
    """(verdict, words) of one exit criterion's state."""
    criterion = state.criterion
    try:
        metric = metrics.get(criterion.metric)
    except ValueError:
        metric = None
    label = metric.label if metric else criterion.metric
    need = f"exit needs {criterion.get_comparator_display()} " + (
        metric.format(state.latest.threshold if state.latest and state.latest.threshold is not None
                      else criterion.threshold) if metric else str(criterion.threshold))
    if state.latest is None:
        return AT_RISK, f"{label}: not measured yet ({need})"
    value = metric.format(state.latest.value) if metric else str(state.latest.value)
    if state.passed:
        return STABLE, f"{label} {value} ({need})"
    if state.waived:
        return AT_RISK, f"{label} {value}, failing but waived until {state.waiver.expires_at:%d %b %Y} ({need})"
    if metric is not None and metric.status(state.latest.value) == Status.RED:
        return NOT_STABLE, f"{label} {value}, red ({need})"
    if state.latest.value is None:
        return AT_RISK, f"{label}: no data in its window ({need})"
    return AT_RISK, f"{label} {value}, short of the exit ({need})"


RANK = {NOT_STABLE: 0, AT_RISK: 1, STABLE: 2}


def verdicts(user, now=None) -> list[Verdict]:
    """One verdict per live wave `user` sees, the one that went live last first."""
    now = now or timezone.now()
    waves = list(Wave.objects.restrict(user).filter(status=Wave.Status.LIVE).select_related("program")
                 .order_by(F("actual_cutover").desc(nulls_last=True), "pk"))
    gates = {gate.wave_id: gate for gate in Gate.objects.filter(
        wave__in=waves, template__kind=GateKind.HYPERCARE_EXIT).select_related("template", "wave")}
    states = gate_states(gates.values(), now)
    # A wave whose exit gate is not set up yet: its program's exit criteria, none measured.
    unmeasured = {template.program_id: [CriterionState(c, None, None, None) for c in template.criteria.all()
                                           if c.retired_at is None]
                  for template in GateTemplate.objects.filter(
                      program__in={wave.program_id for wave in waves if wave.pk not in gates},
                      kind=GateKind.HYPERCARE_EXIT).prefetch_related("criteria")}
    found = []
    for wave in waves:
        gate = gates.get(wave.pk)
        criteria = states[gate.pk].criteria if gate is not None else unmeasured.get(wave.program_id, [])
        judged = sorted((_criterion_verdict(state) for state in criteria), key=lambda pair: RANK[pair[0]])
        if not criteria:
            # Nothing to judge stability by (no exit criteria): said so.
            found.append(Verdict(wave, AT_RISK, [Reason("The wave's hypercare exit has no criteria", AT_RISK)]))
            continue
        worst = judged[0][0]
        measured = [state.latest.at for state in criteria if state.latest is not None]
        found.append(Verdict(wave, worst, [Reason(text, verdict) for verdict, text in judged if verdict != STABLE],
                             max(measured) if measured else None, len(criteria)))
    return found


def top_problems(user, waves, limit=PROBLEMS_SHOWN):
    """The active cases at the stores of `waves` that `user` sees: the largest value at risk first,
    then the most severe, the most urgent."""
    if not waves:
        return []
    stores = visible_locations(user).filter(wave_memberships__wave__in=waves).values("pk")
    cases = Case.objects.restrict(user).filter(status__in=Case.ACTIVE, location__in=stores)
    # Ranked on the ids alone (read from an index, exceptions' case_active_as_of), then the few shown read whole:
    # a wave's stores have tens of thousands of active cases.
    ranked = list(cases.order_by(F("value_at_risk").desc(), "severity", F("resolution_due_at").asc(nulls_last=True),
                                 "pk").values_list("pk", flat=True)[:limit])
    found = Case.objects.select_related("location", "sku").in_bulk(ranked)
    return [found[pk] for pk in ranked]


@dataclass
class KpiLine:
    tile: dashboards.Tile
    points: str  # the sparkline's SVG polyline points; "" with fewer than two values
    trend: str  # the sparkline in words

    @property
    def metric(self):
        return self.tile.metric


def _sparkline(metric, rows, width=120, height=28):
    """SVG polyline points of the days with a value (time runs left to right), and the same in words."""
    values = [(n, row.value) for n, row in enumerate(rows) if row.value is not None]
    if not values:
        return "", f"No data in the last {len(rows)} days."
    first, last = values[0][1], values[-1][1]
    words = (f"{len(values)} of the last {len(rows)} days measured: from {metric.format(first)} "
             f"to {metric.format(last)}.")
    if len(values) < 2:
        return "", words
    low, high = min(v for _, v in values), max(v for _, v in values)
    span = (high - low) or 1
    step = width / max(len(rows) - 1, 1)
    points = " ".join(f"{n * step:.1f},{height - 2 - float((value - low) / span) * (height - 4):.1f}"
                      for n, value in values)
    return points, words


def kpis(wave, day=None) -> list[KpiLine]:
    """The wave's KPI tiles (read against its gate criteria), red first, each with its sparkline."""
    day = day or rollups.last_day()
    keys = [metric.key for metric in hypercare_metrics()]
    tiles = dashboards.tiles(keys, WAVE_DIMENSION, str(wave.pk), day, targets=target_values(gate_targets(wave)))
    series = rollups.series_of(keys, WAVE_DIMENSION, str(wave.pk), day - timedelta(days=SPARKLINE_DAYS - 1), day) \
        if day else {}
    lines = []
    for tile in tiles:
        points, words = _sparkline(tile.metric, series[tile.metric.key]) if day else ("", "No data yet.")
        lines.append(KpiLine(tile, points, words))
    return sorted(lines, key=lambda line: (STATUS_ORDER.get(line.tile.status, 5), line.metric.label))
