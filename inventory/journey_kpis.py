"""The journey KPIs of the registry (controltower.metrics) and their part of
the KPI rollups (controltower.rollups, registered by inventory.rollups): the
channel dimension, and the days that journey steps received since a moment
change. `register_metrics()` is called from InventoryConfig.ready(); the
definitions there are the words every screen shows.

Each order or return metric is read from the journeys' derived step times
(inventory.journeys), by the step that puts a journey in the window: orders
placed in it for the fallout rate, orders marked ready in it for readiness
and order-to-ready time, returns refunded (or settled) in it for the refund
legs. A step arriving later changes the day of that step, which
`days_changed_since` reports. Windows are half-open (since <= time < until).
Scope: the journey's location (that of its latest located step) and its
channel; an empty scope, or nothing in the window, is no data.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models.functions import Coalesce, TruncDate
from django.urls import reverse

from controltower.db import nearest_rank_of
from controltower.metrics import HIGHER, LOWER, Reading, Scope, Unit, records_url, register, share

from .journeys import ORDER, PROMOTION, RETURN
from .metrics import by_location as by_location_of, codes_of, empty, in_window, union_of
from .models import Channel, Journey, JourneyStep, Location



# Each function measures many scopes at once (the KPI rollups measure every
# member of the location, region and channel dimensions): it reads the
# journeys (or steps) in the window once, for the union of the scopes, and
# counts per scope in Python; one scope is the same rule for one.

def _of_scopes(rows, scopes, location_field, channel_field):
    """`rows` of any of the scopes' locations and channels."""
    location_ids, channel_codes = union_of(scopes, "locations"), union_of(scopes, "channels")
    if location_ids is not None:
        rows = rows.filter(**{f"{location_field}__in": location_ids})
    if channel_codes is not None:
        rows = rows.filter(**{f"{channel_field}__in": channel_codes})
    return rows


def _each_scope(scopes, rows, read, kind, step, window):
    """The one loop: a Reading per scope, no data for a scope naming no
    location or no channel, else `read(rows of the scope)` with the records
    URL of the journeys behind it. `rows`: tuples starting (location id,
    channel code)."""
    by_location = {}
    for row in rows:
        by_location.setdefault(row[0], []).append(row)
    location_codes = codes_of(Location, scopes, "locations")
    readings = []
    for scope in scopes:
        if empty(scope, "locations", "channels"):
            readings.append(Reading(value=None, sample=0))
            continue
        mine = by_location_of(by_location, scope)
        if scope.channels is not None:
            mine = [row for row in mine if row[1] in scope.channels]
        url = records_url(reverse("journeys"), kind=kind, step=step, locations=location_codes(scope),
                          channels=scope.channels, since=window.since, until=window.until)
        readings.append(replace(read(mine), records_url=url))
    return readings


def _journeys(kind, scopes, step_field, window, *fields):
    """(location id, channel, *fields) of the journeys of `kind` in the
    scopes whose `step_field` time is in the window."""
    journeys = _of_scopes(in_window(Journey.objects.filter(kind=kind), step_field, window), scopes,
                          "location_id", "channel")
    return journeys.values_list("location_id", "channel", *fields)


def order_fallout_rate(scopes, window):
    def read(rows):
        reasons = Counter(reason for _location, _channel, fallout_at, reason in rows if fallout_at is not None)
        fallout = sum(reasons.values())
        return Reading(value=share(fallout, len(rows)), sample=len(rows),
                       detail={"placed": len(rows), "fallout": fallout, "by_reason": dict(sorted(reasons.items()))})
    rows = _journeys(ORDER, scopes, "placed_at", window, "fallout_at", "fallout_reason")
    return _each_scope(scopes, rows, read, ORDER, "placed", window)


def pickup_readiness_accuracy(scopes, window):
    def read(rows):
        clean = sum(1 for _location, _channel, collected_at, fallout_at, substituted, short in rows
                    if collected_at is not None and fallout_at is None and not substituted and not short)
        return Reading(value=share(clean, len(rows)), sample=len(rows),
                       detail={"marked_ready": len(rows), "collected_as_ready": clean})
    rows = _journeys(ORDER, scopes, "ready_at", window, "collected_at", "fallout_at", "substituted", "short")
    return _each_scope(scopes, rows, read, ORDER, "ready_for_pickup", window)


def _median(kind, step_field, leg, step):
    """The metric function of the median of one leg (seconds) of the journeys
    whose `step_field` time is in the window: the one rule for the three."""
    def median(scopes, window):
        def read(rows):
            seconds = nearest_rank_of(sorted(row[2] for row in rows), Decimal("0.5"))
            return Reading(value=None if seconds is None else Decimal(seconds), sample=len(rows))
        rows = _journeys(kind, scopes, step_field, window, leg).filter(**{f"{leg}__isnull": False})
        return _each_scope(scopes, rows, read, kind, step, window)
    return median


order_to_ready_time = _median(ORDER, "ready_at", "ready_s", "ready_for_pickup")
refund_received_to_refunded = _median(RETURN, "refunded_at", "refund_s", "refunded")
refund_refunded_to_settled = _median(RETURN, "settled_at", "settle_s", "settled")


def promotion_override_frequency(scopes, window):
    """Price override steps over promotion sale steps that occurred in the
    window, each at its own location (else its journey's)."""
    def read(rows):
        sales = sum(1 for row in rows if row[2] == "promotion_sale")
        by_cashier = Counter(cashier for _location, _channel, step, cashier in rows if step == "price_override")
        overrides = sum(by_cashier.values())
        return Reading(value=share(overrides, sales), sample=sales,
                       detail={"price_overrides": overrides, "promotion_sales": sales,
                               "by_cashier": dict(sorted(by_cashier.items()))})
    steps = in_window(JourneyStep.objects.filter(
        journey__kind=PROMOTION, step__in=("price_override", "promotion_sale")), "occurred_at", window)
    steps = steps.annotate(at_location=Coalesce("location_id", "journey__location_id"))
    rows = _of_scopes(steps, scopes, "at_location", "journey__channel").values_list(
        "at_location", "journey__channel", "step", "cashier")
    return _each_scope(scopes, rows, read, PROMOTION, "price_override", window)


# ---------------------------------------------------------------- rollups

def channels():
    return {code: Scope.of(channels=[code]) for code in Channel.objects.values_list("code", flat=True)}


def days_changed_since(moment):
    """A step received since `moment` can change any day its journey took a
    step on (a late fallout changes the fallout rate of the day it was placed):
    every day of the touched journeys' steps."""
    touched = JourneyStep.objects.filter(received_at__gte=moment).values("journey_id")
    steps = JourneyStep.objects.filter(journey_id__in=touched)
    return set(steps.annotate(utc_day=TruncDate("occurred_at", tzinfo=dt_timezone.utc))
               .values_list("utc_day", flat=True).distinct())


# Ready orders and refunds are a few a day at a store: their daily rollup
# reads the week to the day.
WEEK = 7


def register_metrics():
    """The journey metrics: each defined once, in the words every screen shows."""
    scopes = ("locations", "channels")
    register(
        "order_fallout_rate", "Order fallout rate", unit=Unit.PERCENT, better=LOWER,
        compute_many=order_fallout_rate, target="2", amber="5", scopes=scopes,
        definition="Orders placed in the window that reached fallout (could not be fulfilled, with a reason "
                   "code), over the orders placed in the window.",
    )
    register(
        "pickup_readiness_accuracy", "Pickup readiness accuracy", unit=Unit.PERCENT, better=HIGHER,
        compute_many=pickup_readiness_accuracy, target="98", amber="95", scopes=scopes, rollup_days=WEEK,
        definition="Orders marked ready for pickup in the window that were collected without a short, a "
                   "substitution or a fallout, over the orders marked ready in the window (one not yet "
                   "collected is not yet accurate).",
    )
    register(
        "order_to_ready_time", "Order to ready time", unit=Unit.SECONDS, better=LOWER,
        compute_many=order_to_ready_time, target="7200", amber="14400", scopes=scopes, rollup_days=WEEK,
        definition="Median time from an order placed to ready for pickup, of the orders marked ready in the "
                   "window.",
    )
    register(
        "refund_received_to_refunded", "Refund cycle: received to refunded", unit=Unit.SECONDS, better=LOWER,
        compute_many=refund_received_to_refunded, target="172800", amber="432000", scopes=scopes,
        rollup_days=WEEK,
        definition="Median time from a return received at the store to the customer refunded, of the returns "
                   "refunded in the window.",
    )
    register(
        "refund_refunded_to_settled", "Refund cycle: refunded to settled", unit=Unit.SECONDS, better=LOWER,
        compute_many=refund_refunded_to_settled, target="432000", amber="864000", scopes=scopes,
        rollup_days=WEEK,
        definition="Median time from a refund to its settlement in finance, of the returns settled in the "
                   "window.",
    )
    register(
        "promotion_override_frequency", "Promotion override frequency", unit=Unit.PERCENT, better=LOWER,
        compute_many=promotion_override_frequency, target="2", amber="5", scopes=scopes,
        definition="Prices overridden at the till on promotion (with a reason, by a cashier) over promotion "
                   "sale lines, in the window.",
    )
