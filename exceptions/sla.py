"""The SLA clock: minutes counted only while a location trades.

Hours are wall-clock times in the location's time zone, so a store that opens
at 08:00 opens at 08:00 on both sides of a DST change. All arithmetic is done
in UTC: subtracting two aware datetimes in the same zone would ignore the
offset change.
"""
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case as CaseWhen, F, Q, Value, When
from django.utils.timesince import timesince, timeuntil

from .models import Case, Holiday, TradingHours

MIDNIGHT = time(0)
LOOKAHEAD_DAYS = 400


class Clock:
    """The open intervals of one location."""

    def __init__(self, tz, week, holidays=frozenset()):
        self.tz = tz
        self.week = week  # {weekday: [(opens, closes)]}
        self.holidays = holidays

    def open_intervals(self, day):
        """[(start, end)] in UTC for one local date."""
        if day in self.holidays:
            return []
        intervals = []
        for opens, closes in self.week.get(day.weekday(), []):
            start = datetime.combine(day, opens, self.tz)
            end_day = day + timedelta(days=1) if closes == MIDNIGHT else day
            end = datetime.combine(end_day, closes, self.tz)
            intervals.append((start.astimezone(UTC), end.astimezone(UTC)))
        return intervals

    def _intervals_from(self, moment):
        day = moment.astimezone(self.tz).date() - timedelta(days=1)  # an interval may span midnight
        for _ in range(LOOKAHEAD_DAYS):
            for start, end in self.open_intervals(day):
                if end > moment:
                    yield max(start, moment), end
            day += timedelta(days=1)
        raise ValueError(f"No trading hours within {LOOKAHEAD_DAYS} days")

    def open_intervals_between(self, a, b):
        """[(start, end)] in UTC of the open time between a and b."""
        a, b = a.astimezone(UTC), b.astimezone(UTC)
        intervals = []
        if b <= a:
            return intervals
        for begin, end in self._intervals_from(a):
            if begin >= b:
                break
            intervals.append((begin, min(end, b)))
        return intervals

    def add(self, start, minutes):
        """The moment `minutes` of trading time after `start`."""
        remaining = timedelta(minutes=minutes)
        moment = start.astimezone(UTC)
        for begin, end in self._intervals_from(moment):
            if begin + remaining <= end:
                return begin + remaining
            remaining -= end - begin

    def seconds_between(self, a, b):
        """Trading seconds from a to b (0 when b is not after a)."""
        return int(sum((end - begin for begin, end in self.open_intervals_between(a, b)), timedelta()).total_seconds())


ALWAYS_OPEN = Clock(UTC, {day: [(MIDNIGHT, MIDNIGHT)] for day in range(7)})


class Calendar:
    """All trading hours and holidays, read once; one Clock per location."""

    def __init__(self):
        self.hours = list(TradingHours.objects.all())
        self.holidays = list(Holiday.objects.all())
        self._clocks = {}

    def clock(self, location, trading_hours_only=True):
        if location is None or not trading_hours_only:
            return ALWAYS_OPEN
        if location.pk not in self._clocks:
            self._clocks[location.pk] = self._build(location)
        return self._clocks[location.pk]

    def _build(self, location):
        tz = ZoneInfo(location.timezone)
        week = {}
        for rows in (
            [h for h in self.hours if h.location_id == location.pk],
            [h for h in self.hours if h.region_id == location.region_id and h.location_id is None],
            [h for h in self.hours if h.location_kind == location.kind and not h.location_id and not h.region_id],
        ):
            if rows:
                for h in rows:
                    week.setdefault(h.weekday, []).append((h.opens, h.closes))
                break
        else:
            return Clock(tz, ALWAYS_OPEN.week)
        holidays = frozenset(
            h.date for h in self.holidays
            if h.location_id == location.pk
            or (h.location_id is None and h.region_id in (None, location.region_id))
        )
        return Clock(tz, week, holidays)


def add_business_minutes(start, minutes, location):
    """When a target of `minutes` trading minutes started at `start` is due."""
    return Calendar().clock(location).add(start, minutes)


def business_minutes_between(a, b, location):
    return Calendar().clock(location).seconds_between(a, b) / 60


def sla_clock(case, calendar=None):
    """The clock a case's targets run on (its policy may count around the clock)."""
    policy = case.sla_policy
    return (calendar or Calendar()).clock(case.location, policy.trading_hours_only if policy else True)


@dataclass(frozen=True)
class SlaState:
    """A case's SLA as people read it: the state, its words, and the due time."""

    state: str  # breached, missed, paused, done, at_risk, on_track or no_sla
    label: str  # the state in words: "Breached", "Missed", "Paused", "Done", "At risk", "On track", "No SLA"
    tone: str  # "alert" once breached or missed, "warn" once at risk (WARNING_SHARE of the target used), else ""
    due_at: datetime | None  # when the case must be resolved
    overdue: bool  # the due time has passed
    time_left: str  # "3 hours, 20 minutes" while before the due time, else ""
    overdue_by: str  # "2 hours" once past it, else ""
    note: str  # after "Due": "clock stopped while waiting", "3 hours left", "overdue by 2 hours" or ""


# A resolved case met its resolution target: resolved by its due time (which
# waiting pushes back). Cases without a target have no due time and match neither.
RESOLVED_IN_TIME = Q(resolved_at__lte=F("resolution_due_at"))
HAS_TARGET = Q(resolution_due_at__isnull=False)
# The statuses whose SLA clock runs (waiting: stopped).
RUNNING = (Case.Status.OPEN, Case.Status.ACKNOWLEDGED, Case.Status.IN_PROGRESS)


def overdue_q(now):
    """Running cases past a target at `now`: the resolution due time, or the
    response due time while nobody acknowledged the case."""
    return Q(status__in=RUNNING) & (Q(resolution_due_at__lte=now)
                                    | Q(acknowledged_at__isnull=True, response_due_at__lte=now))


def breached_q(now):
    """The cases in breach at `now`: marked by the escalation sweep, or past
    a target already though the sweep has not run since. Every count of
    breached cases uses this, so a count agrees with the cases listed."""
    return Q(breached_at__isnull=False) | overdue_q(now)


# Within the breached cases and within the others: severity, then due time (none: last), then id.
# The case_urgency index is in this order, so each part is read off it a page at a time.
BY_SEVERITY_AND_DUE = (F("severity").asc(), F("resolution_due_at").asc(nulls_last=True), F("id").asc())


def breached_first(now):
    """0 for the cases breached at `now` (breached_q), else 1: their sort key."""
    return CaseWhen(When(breached_q(now), then=Value(0)), default=Value(1))


def urgency(now):
    """Most urgent first at `now`: breached as read then (breached_q, so a case
    past its due time sorts with the breached ones before the sweep flags it),
    then BY_SEVERITY_AND_DUE. The queue, the API and the stores' lists order by
    it; the queue reads its pages in two parts off the case_urgency index
    (exceptions.views.queue.MostUrgentFirst)."""
    return (breached_first(now).asc(), *BY_SEVERITY_AND_DUE)


def is_overdue(case, now):
    """overdue_q for one case in memory."""
    if case.status not in RUNNING:
        return False
    due, response_due = case.resolution_due_at, case.response_due_at
    return (due is not None and due <= now) or (
        case.acknowledged_at is None and response_due is not None and response_due <= now)


def missed_target(case):
    """A resolved or closed case that missed its target: breached on the way
    (even if it cleared later), or resolved after its due time."""
    due = case.resolution_due_at
    return bool(case.breached_at) or (due is not None and case.resolved_at is not None and case.resolved_at > due)


SLA_LABELS = {"breached": "Breached", "missed": "Missed", "paused": "Paused", "done": "Done", "at_risk": "At risk",
              "on_track": "On track", "no_sla": "No SLA"}


def sla_state(case, now) -> SlaState:
    """Where `case` stands against its SLA at `now`, derived from its due
    times when read (never only from the flags the escalation sweep sets: it
    may not have run since). A resolved or closed case is done, or missed
    when it missed its target; an active one past a target (or marked
    breached) is breached; a waiting one paused (its clock stopped); one past
    its warning time (or warned) at risk; one with a due time on track."""
    if case.status in Case.DONE:
        state = "missed" if missed_target(case) else "done"
    elif case.breached_at or is_overdue(case, now):
        state = "breached"
    elif case.status == Case.Status.WAITING:
        state = "paused"
    elif case.warned_at or (case.warning_due_at is not None and case.warning_due_at <= now):
        state = "at_risk"
    elif case.resolution_due_at:
        state = "on_track"
    else:
        state = "no_sla"
    due = case.resolution_due_at
    overdue = due is not None and due <= now
    time_left = timeuntil(due, now) if due is not None and not overdue else ""
    overdue_by = timesince(due, now) if overdue else ""
    if due is None or case.status in Case.DONE:
        note = ""
    elif case.status == Case.Status.WAITING:
        note = "clock stopped while waiting"
    else:
        note = f"overdue by {overdue_by}" if overdue else f"{time_left} left"
    return SlaState(
        state=state, label=SLA_LABELS[state],
        tone="alert" if state in ("breached", "missed") else "warn" if state == "at_risk" or (
            state == "paused" and case.warned_at) else "",
        due_at=due, overdue=overdue, time_left=time_left, overdue_by=overdue_by, note=note,
    )
