"""What the integration health screen shows of each source system, and the
replay of kept rejections from it.

Volumes come from the ingest counts (IngestDay), acceptance and latency
from the KPI rollups (the `source` dimension), rejections from the kept
RejectedEvent rows grouped by cause: nothing here reads the ledger. A replay
goes through the same service as `manage.py replay_rejections`
(inventory.ledger.replay_rejections).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.utils import timezone

from controltower import metrics, records, rollups
from controltower.dashboards import Tile, tiles, trend_figure, trend_summary
from controltower.permissions import may_replay_rejections
from controltower.when import duration_words

from .ledger import replay_rejections
from .models import CONTROL_TOWER_SOURCE, IngestDay, RejectedEvent, SourceSystem
from .sources import expected_interval, follows_trading_hours, is_stale
from .trading import Calendar

# Events per hour and duplicates per day are averaged over this many whole
# UTC days, up to yesterday (today is not over yet).
VOLUME_DAYS = 7
HEALTH_METRICS = ("event_acceptance_rate", "sync_latency_p95")
TREND_DAYS = 30
# One click replays at most this many rejections; the rest stay pending for the next.
REPLAY_BATCH = 500

PENDING, REPLAYED, DISMISSED, ALL = "pending", "replayed", "dismissed", "all"
REJECTION_STATUSES = ((PENDING, "Waiting for a replay"), (REPLAYED, "Replayed"), (DISMISSED, "Dismissed"),
                      (ALL, "All"))


@dataclass
class Cause:
    cause: str
    pending: int
    replayed: int
    dismissed: int
    pending_url: str


@dataclass
class SourceHealth:
    source: SourceSystem
    acceptance: Tile
    latency: Tile
    received: int  # over the volume period
    duplicates: int
    events_per_hour: Decimal | None  # None: nothing counted (no IngestDay in the period)
    duplicates_per_day: Decimal | None
    volume_url: str
    stale: bool
    causes: list = field(default_factory=list)

    @property
    def interval_words(self):
        """After "expected": "every 15 minutes (while its stores trade)", or "when it has something"."""
        interval = expected_interval(self.source)
        if interval is None:
            return "when it has something"
        trading = " while its stores trade" if follows_trading_hours(self.source) else ""
        return f"every {duration_words(interval)}{trading}"

    @property
    def kpis(self):
        return [self.acceptance, self.latency]

    @property
    def pending(self):
        return sum(cause.pending for cause in self.causes)

    @property
    def latency_by_type(self):
        """The latency percentile per event type from the same rollup row, slowest first: "sale 6 min, ..."."""
        by_type = self.latency.detail.get("by_event_type", {})
        slowest = sorted(by_type.items(), key=lambda item: (-Decimal(item[1]), item[0]))
        return ", ".join(f"{event_type.replace('_', ' ')} {self.latency.metric.format(Decimal(seconds))}"
                         for event_type, seconds in slowest)


@dataclass(frozen=True)
class Period:
    first: object  # date
    last: object

    @property
    def days(self):
        return (self.last - self.first).days + 1


def volume_period(now=None) -> Period:
    """The VOLUME_DAYS whole UTC days up to yesterday."""
    today = rollups.utc_today(now)
    return Period(today - timedelta(days=VOLUME_DAYS), today - timedelta(days=1))


def feeds():
    """The active source systems that feed the tower (not the tower's own corrections)."""
    return SourceSystem.objects.filter(active=True).exclude(code=CONTROL_TOWER_SOURCE).order_by("code")


def source_health(now=None):
    """(the volume period, the KPI day, a SourceHealth per active feed)."""
    now = now or timezone.now()
    period = volume_period(now)
    sources = list(feeds())
    volumes = {
        row["source_id"]: row for row in IngestDay.objects.filter(
            source__in=sources, day__gte=period.first, day__lte=period.last,
        ).values("source_id").annotate(received=Sum("received"), duplicates=Sum("duplicates"))
    }
    causes = {}
    for row in (RejectedEvent.objects.filter(source__in=sources, kind=RejectedEvent.Kind.REJECTED)
                .values("source_id", "source__code", "cause")
                .annotate(pending=Count("id", filter=Q(replayed_at__isnull=True, dismissed_at__isnull=True)),
                          replayed=Count("id", filter=Q(replayed_at__isnull=False)),
                          dismissed=Count("id", filter=Q(dismissed_at__isnull=False)))
                .order_by("source_id", "-pending", "cause")):
        url = records.url("rejections", source=row["source__code"], cause=row["cause"],
                          kind=RejectedEvent.Kind.REJECTED, status=PENDING)
        causes.setdefault(row["source_id"], []).append(
            Cause(row["cause"], row["pending"], row["replayed"], row["dismissed"], url))
    day = rollups.last_day()
    hours = Decimal(period.days * 24)
    calendar = Calendar()
    health = []
    for source in sources:
        acceptance, latency = tiles(HEALTH_METRICS, "source", source.code, day)
        volume = volumes.get(source.pk)
        health.append(SourceHealth(
            source=source, acceptance=acceptance, latency=latency,
            received=volume["received"] if volume else 0,
            duplicates=volume["duplicates"] if volume else 0,
            events_per_hour=(Decimal(volume["received"]) / hours).quantize(Decimal("0.1")) if volume else None,
            duplicates_per_day=(Decimal(volume["duplicates"]) / period.days).quantize(Decimal("0.1"))
            if volume else None,
            volume_url=records.url("ingest-days", source=source.code, since=period.first.isoformat(),
                                   until=period.last.isoformat()),
            stale=is_stale(source, source.last_event_at, now, calendar),
            causes=causes.get(source.pk, []),
        ))
    return period, day, health


def source_trend(source, metric_key, last_day):
    """The daily values of one health metric for one source over TREND_DAYS: (figure JSON, summary)."""
    metric = metrics.get(metric_key)
    if last_day is None:
        return None, trend_summary(metric, [])
    rows = rollups.series(metric_key, "source", source.code, last_day - timedelta(days=TREND_DAYS - 1), last_day)
    figure = trend_figure(metric, [(source.code, rows)], targets=[(metric.target, f"Target {metric.target_text}")])
    return figure, trend_summary(metric, rows)


def rejections(user, source=None, cause="", status=PENDING):
    """The validation rejections `user` sees (conflicts are not replayed), newest first."""
    found = RejectedEvent.objects.filter(kind=RejectedEvent.Kind.REJECTED).restrict(user)
    if source is not None:
        found = found.filter(source=source)
    if cause:
        found = found.filter(cause=cause)
    if status == PENDING:
        found = found.waiting()
    elif status == REPLAYED:
        found = found.filter(replayed_at__isnull=False)
    elif status == DISMISSED:
        found = found.filter(dismissed_at__isnull=False)
    return found.select_related("source").order_by("-received_at", "-id")


def causes_of(user):
    """Every cause of the rejections `user` sees, for the filter."""
    return list(RejectedEvent.objects.filter(kind=RejectedEvent.Kind.REJECTED).restrict(user)
                .values_list("cause", flat=True).distinct().order_by("cause"))


def replay(user, ids=None, source=None, cause=""):
    """Replay the pending rejections chosen (by id, or all of a source and
    cause), at most REPLAY_BATCH, through the replay_rejections service.
    Returns (the rejections as they now stand, how many of the chosen are
    still pending beyond the batch)."""
    if not may_replay_rejections(user):
        raise PermissionDenied("Only integration admins replay rejections: a replay posts to the ledger.")
    chosen = rejections(user, source=source, cause=cause, status=PENDING).order_by("id")
    if ids is not None:
        chosen = chosen.filter(pk__in=ids)
    picked = list(chosen.values_list("pk", flat=True)[:REPLAY_BATCH + 1])
    left = len(picked) > REPLAY_BATCH
    picked = picked[:REPLAY_BATCH]
    if picked:
        replay_rejections(ids=picked, limit=REPLAY_BATCH)
    replayed = list(RejectedEvent.objects.filter(pk__in=picked).select_related("source").order_by("id"))
    return replayed, (chosen.count() if left else 0)
