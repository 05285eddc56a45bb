"""Evaluating gates: each criterion of a wave's open gate is measured through
the metric registry (controltower.metrics.measure, nothing else) and kept as
an Evaluation, then the gate is passed if the rules allow (rollout.gates).

The scope of a criterion:
- "locations": the wave's locations.
- "sources": the sources feeding them: those whose lane names one of the
  wave's locations (SourceSystem.lane_locations, so a silent feed still
  counts), and those that sent an event for one of them within the window
  (a source with no lane restriction feeds every location; it is only in
  scope where it actually sends).

A criterion with a steady duration passes only once its measurement has met
the threshold continuously for that many hours (its evidence since the last
miss). A baseline criterion compares with the pilot wave's value over the
same window, or with the wave's own value over the window before its actual
cutover; its threshold is an offset added to that value.

"Evaluate now" is queued: the request is recorded (request_evaluation) and
a worker runs it once (run_request); requests the broker never took are run
by the sweep (run_left_queued).
"""
from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from controltower.locks import lock_rows
from controltower.metrics import Scope, Window, measure
from controltower.when import when
from inventory.models import InventoryEvent

from . import alerts, gates
from .models import Criterion, Evaluation, EvaluationRequest, Gate, Wave

COMPARE = {
    Criterion.Comparator.GTE: operator.ge,
    Criterion.Comparator.GT: operator.gt,
    Criterion.Comparator.LTE: operator.le,
    Criterion.Comparator.LT: operator.lt,
    Criterion.Comparator.EQ: operator.eq,
}


def meets(value, comparator, threshold):
    """Whether a measured value meets a threshold; no data never does."""
    if value is None or threshold is None:
        return False
    return COMPARE[comparator](Decimal(value), Decimal(threshold))


def wave_locations(wave):
    return frozenset(wave.members.values_list("location_id", flat=True))


def scope_of(criterion, wave, window):
    locations = wave_locations(wave)
    if criterion.scope == Criterion.ScopeKind.LOCATIONS:
        return Scope.of(locations=locations)
    from inventory.models import SourceSystem

    by_lane = SourceSystem.objects.filter(lane_locations__in=locations).values_list("id", flat=True)
    sent = InventoryEvent.objects.filter(location_id__in=locations, received_at__lte=window.until)
    if window.since is not None:
        sent = sent.filter(received_at__gte=window.since)
    return Scope.of(sources=set(by_lane) | set(sent.values_list("source_id", flat=True).distinct()))


def _measure(criterion, wave, window):
    return measure(criterion.metric, scope_of(criterion, wave, window), window)


def pilot_of(wave):
    return wave.program.waves.filter(kind=Wave.Kind.PILOT).order_by("order").first()


def baseline(criterion, wave, at):
    """(the baseline value or None, a note when there is none)."""
    hours = timedelta(hours=criterion.window_hours)
    if criterion.baseline == Criterion.Baseline.PILOT:
        pilot = pilot_of(wave)
        if pilot is None:
            return None, "the program has no pilot wave"
        value = _measure(criterion, pilot, Window(at - hours, at)).value
        return value, "" if value is not None else "no data for the pilot wave"
    if wave.actual_cutover is None:
        return None, "the wave has not cut over: no value before cutover"
    cutover = timezone.make_aware(datetime.combine(wave.actual_cutover, time.min))
    value = _measure(criterion, wave, Window(cutover - hours, cutover)).value
    return value, "" if value is not None else "no data before the cutover"


def held_since(gate, criterion, at):
    """When the criterion's measurement started meeting its threshold without
    a miss up to `at`, by its evidence from the last evaluation at or before
    the start of its steady duration (enough to tell whether it held), or None
    if its last evidence missed."""
    cutoff = at - timedelta(hours=criterion.steady_hours)
    evidence = gate.evaluations.filter(criterion=criterion, at__lt=at)
    anchor = evidence.filter(at__lte=cutoff).order_by("-at", "-pk").first()
    recent = list(evidence.filter(at__gt=cutoff).order_by("at", "pk"))
    start = None
    for evaluation in ([anchor] if anchor else []) + recent:
        if meets(evaluation.value, criterion.comparator, evaluation.threshold):
            start = start or evaluation.at
        else:
            start = None
    return start


def evaluate_criterion(gate, criterion, at) -> Evaluation:
    wave = gate.wave
    window = Window(at - timedelta(hours=criterion.window_hours), at)
    measured = _measure(criterion, wave, window)
    threshold, base, notes = criterion.threshold, None, []
    if criterion.baseline:
        base, note = baseline(criterion, wave, at)
        threshold = base + criterion.threshold if base is not None else None
        if note:
            notes.append(note)
    if measured.value is None:
        notes.append("no data")
    passed = meets(measured.value, criterion.comparator, threshold)
    if passed and criterion.steady_hours:
        since = held_since(gate, criterion, at) or at
        held = at - since
        if held < timedelta(hours=criterion.steady_hours):
            passed = False
            notes.append(f"met for {held.total_seconds() / 3600:.1f} of {criterion.steady_hours} steady hours")
    waived = not passed and any(w.is_live(at) for w in gate.waivers.filter(criterion=criterion))
    evaluation = Evaluation.objects.create(
        gate=gate, criterion=criterion, at=at, value=measured.value, baseline_value=base, threshold=threshold,
        sample=measured.reading.sample, records_url=measured.reading.records_url[:2000], passed=passed,
        waived=waived, note="; ".join(notes)[:300],
    )
    alerts.criterion_evaluated(evaluation)
    return evaluation


def evaluate_gate(gate, at=None):
    """Measure every criterion of `gate` now, keep the evidence, and pass the gate if it may."""
    at = at or timezone.now()
    criteria = gate.template.criteria.filter(Criterion.part_of_gate_at(at))
    evaluations = [evaluate_criterion(gate, criterion, at) for criterion in criteria]
    gates.try_pass(gate, at)
    return evaluations


def evaluate_wave(wave, at=None):
    """Evaluate the wave's open gate; when it passes, the next one opens and is
    evaluated too. Returns the evaluations made."""
    at = at or timezone.now()
    gates.ensure_gates(wave, at)
    made, done = [], set()
    while True:
        gate = (Gate.objects.filter(wave=wave, status=Gate.Status.OPEN).exclude(pk__in=done)
                .select_related("template", "wave__program").first())
        if gate is None:
            return made
        done.add(gate.pk)
        made += evaluate_gate(gate, at)


def evaluate_all(at=None):
    """The hourly run: every wave not closed. Returns counts for the task log."""
    at = at or timezone.now()
    waves = Wave.objects.exclude(status=Wave.Status.CLOSED).select_related("program")
    evaluations = [e for wave in waves for e in evaluate_wave(wave, at)]
    return {"waves": len(waves), "evaluations": len(evaluations),
            "failing": sum(1 for e in evaluations if not e.passed and not e.waived)}


# --------------------------------------------------------------------------
# "Evaluate now", queued
# --------------------------------------------------------------------------

# The sweep leaves a request this young to the task sent for it.
LEFT_QUEUED_AFTER = timedelta(minutes=1)


def request_evaluation(wave, *, user, at=None):
    """Queue an evaluation of `wave` for `user`: (the request, whether it is
    new). A request still queued is the answer to a second click."""
    return EvaluationRequest.objects.get_or_create(
        wave=wave, finished_at__isnull=True, defaults={"requested_by": user, "requested_at": at or timezone.now()},
    )


def latest_request(wave):
    return wave.evaluation_requests.select_related("requested_by").order_by("-requested_at", "-pk").first()


def run_request(request_id, at=None):
    """Evaluate the wave of a queued request and record what was found, once:
    the request is locked while it runs, so a second run of it (the sweep, a
    redelivered task) waits and then finds it finished. An evaluation that
    fails keeps nothing but the error, on the request, and raises. Returns
    the request, or None when it had already run."""
    try:
        with transaction.atomic():
            queued = lock_rows(EvaluationRequest.objects.filter(pk=request_id, finished_at__isnull=True),
                               of=("self",)).select_related("wave__program").first()
            if queued is None:
                return None
            made = evaluate_wave(queued.wave, at)
            queued.finished_at = timezone.now()
            queued.evaluations, queued.failing = len(made), sum(1 for e in made if not e.counts)
            queued.save(update_fields=["finished_at", "evaluations", "failing"])
    except Exception as error:
        EvaluationRequest.objects.filter(pk=request_id, finished_at__isnull=True).update(
            finished_at=timezone.now(), error=(str(error) or type(error).__name__)[:300])
        raise
    return queued


def run_left_queued(now=None):
    """The sweep: run the requests still queued a while after they were made
    (the broker was away when they were sent, or lost them). Returns how many ran."""
    now = now or timezone.now()
    left = EvaluationRequest.objects.filter(finished_at__isnull=True, requested_at__lte=now - LEFT_QUEUED_AFTER)
    return sum(run_request(pk) is not None for pk in left.order_by("requested_at").values_list("pk", flat=True))


# --------------------------------------------------------------------------
# Readiness forecast
# --------------------------------------------------------------------------

FORECAST_LOOKBACK = timedelta(days=7)  # "its recent rate": the last week of evidence
FORECAST_HORIZON = timedelta(days=365)  # further than this, "not within a year at this rate"


@dataclass
class Forecast:
    """When a red criterion turns green at its recent rate.
    `green_at`: the expected time; None with `text` saying why not."""

    green_at: datetime | None
    rate_per_day: Decimal | None
    text: str


def forecast(gate, criterion, at=None) -> Forecast | None:
    """For a criterion that is red (its last evidence missing the threshold)
    and moving: a least-squares line through its last week of evidence,
    extended to the threshold. None when it is not red."""
    at = at or timezone.now()
    points = [
        e for e in gate.evaluations.filter(criterion=criterion, at__lte=at, at__gte=at - FORECAST_LOOKBACK)
        .order_by("at", "pk") if e.value is not None
    ]
    if not points:
        return Forecast(None, None, "no data")
    last = points[-1]
    if meets(last.value, criterion.comparator, last.threshold):
        return None
    if last.threshold is None:
        return Forecast(None, None, "no baseline to reach")
    if len(points) < 2:
        return Forecast(None, None, "one measurement: no rate yet")
    xs = [(p.at - points[0].at).total_seconds() / 86400 for p in points]
    ys = [float(p.value) for p in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return Forecast(None, None, "one measurement: no rate yet")
    rate = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread  # per day
    gap = float(last.threshold) - float(last.value)
    if rate == 0 or (gap > 0) != (rate > 0):
        return Forecast(None, Decimal(str(round(rate, 4))), "not moving towards the threshold")
    if gap / rate > FORECAST_HORIZON.days:  # a far threshold or a crawl (a date past 9999 does not exist)
        return Forecast(None, Decimal(str(round(rate, 4))), "not within a year at this rate")
    green_at = last.at + timedelta(days=gap / rate)
    planned = gate.wave.planned_cutover
    if planned is not None and timezone.localtime(green_at).date() > planned:
        return Forecast(None, Decimal(str(round(rate, 4))), "not before the planned cutover")
    return Forecast(green_at, Decimal(str(round(rate, 4))), f"green by {when(green_at)}")
