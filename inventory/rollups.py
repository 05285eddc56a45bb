"""Inventory's part of the KPI rollups (controltower.rollups): the location,
region and source dimensions, and the days that new ledger lines,
rejections, recomputed count variances, refused barcodes and transfer lines
change."""
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.db.models import Min, Q
from django.db.models.functions import TruncDate

from controltower.metrics import Scope
from controltower.rollups import register_changes, register_dimension, utc_today

from . import journey_kpis
from .models import (
    CONTROL_TOWER_SOURCE,
    BarcodeClash,
    CountVariance,
    EventType,
    InventoryEvent,
    Location,
    RejectedEvent,
    SourceSystem,
)


def locations():
    return {code: Scope.of(locations=[pk]) for pk, code in Location.objects.filter(active=True).values_list("pk", "code")}


def regions():
    by_region = {}
    for region, pk in Location.objects.filter(active=True).values_list("region__code", "pk"):
        by_region.setdefault(region, []).append(pk)
    return {code: Scope.of(locations=pks) for code, pks in by_region.items()}


def sources():
    feeds = SourceSystem.objects.filter(active=True).exclude(code=CONTROL_TOWER_SOURCE)
    return {code: Scope.of(sources=[pk]) for pk, code in feeds.values_list("pk", "code")}


def _days(queryset, field):
    return set(queryset.annotate(utc_day=TruncDate(field, tzinfo=dt_timezone.utc))
               .values_list("utc_day", flat=True).distinct())


def days_changed_since(moment):
    """Ledger lines received since `moment` change the day they occurred
    (accuracy, counts) and the day they were received (latency, acceptance);
    a late line changes the variance of later counts, kept on CountVariance."""
    events = InventoryEvent.objects.filter(received_at__gte=moment)
    return (
        _days(events, "occurred_at") | _days(events, "received_at")
        | _days(RejectedEvent.objects.filter(received_at__gte=moment), "received_at")
        | _days(CountVariance.objects.filter(computed_at__gte=moment), "counted_at")
        | _days(BarcodeClash.objects.filter(refused_at__gte=moment), "refused_at")
    )


def transfer_days_changed_since(moment):
    """A transfer line received since `moment` (or a reversal of one, as a
    duplicate) changes its transfer's lead time (on the day it was received)
    and whether it was open at the end of each day from when the line
    occurred: every day from the earliest such line's to today. A line on
    time touches today only."""
    transfer_lines = (EventType.TRANSFER_OUT, EventType.TRANSFER_IN)
    earliest = InventoryEvent.objects.filter(
        Q(type__in=transfer_lines) | Q(type=EventType.REVERSAL, reason__in=transfer_lines), received_at__gte=moment,
    ).aggregate(earliest=Min("occurred_at"))["earliest"]
    if earliest is None:
        return set()
    first, today = earliest.astimezone(dt_timezone.utc).date(), utc_today()
    return {first + timedelta(days=n) for n in range((today - first).days + 1)}


def register_rollups():
    register_dimension("location", "Location", part="locations", members=locations)
    register_dimension("region", "Region", part="locations", members=regions)
    register_dimension("source", "Source system", part="sources", members=sources)
    register_changes(days_changed_since)
    register_changes(transfer_days_changed_since)
    # The journeys' part: orders and returns by channel.
    register_dimension("channel", "Channel", part="channels", members=journey_kpis.channels)
    register_changes(journey_kpis.days_changed_since)
