"""The journey KPIs of the registry (controltower.metrics) and their part of
the KPI rollups (controltower.rollups): the channel dimension, and the days
that journey steps received since a moment change. `register()` is called
from InventoryConfig.ready(); the definitions below are the words every
screen shows.

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

from datetime import timezone as dt_timezone
from decimal import Decimal

from django.db.models import Count
from django.db.models.functions import Coalesce, TruncDate

from controltower.db import nearest_rank
from controltower.metrics import HIGHER, LOWER, Reading, Scope, Unit, records_url, register as register_metric, share
from controltower.rollups import register_changes, register_dimension

from .journeys import ORDER, PROMOTION, RETURN
from .metrics import codes, empty
from .models import Channel, Journey, JourneyStep, Location

JOURNEYS_URL = "/api/v1/journeys"


def _journeys(kind, scope, step_field, window):
    """The journeys of `kind` in the scope whose `step_field` time is in the window."""
    journeys = Journey.objects.filter(kind=kind, **{f"{step_field}__lt": window.until})
    if window.since is not None:
        journeys = journeys.filter(**{f"{step_field}__gte": window.since})
    if scope.locations is not None:
        journeys = journeys.filter(location_id__in=scope.locations)
    if scope.channels is not None:
        journeys = journeys.filter(channel__in=scope.channels)
    return journeys


def _url(kind, step, scope, window):
    return records_url(
        JOURNEYS_URL, kind=kind, step=step, locations=codes(Location, scope.locations), channels=scope.channels,
        since=window.since, until=window.until,
    )


def _no_data(scope):
    return empty(scope, "locations", "channels")


def order_fallout_rate(scope, window):
    if _no_data(scope):
        return Reading(value=None, sample=0)
    placed = _journeys(ORDER, scope, "placed_at", window)
    total = placed.count()
    reasons = dict(
        placed.filter(fallout_at__isnull=False).values_list("fallout_reason").annotate(n=Count("id"))
        .order_by("fallout_reason")
    )
    fallout = sum(reasons.values())
    return Reading(
        value=share(fallout, total), sample=total, records_url=_url(ORDER, "placed", scope, window),
        detail={"placed": total, "fallout": fallout, "by_reason": reasons},
    )


def pickup_readiness_accuracy(scope, window):
    if _no_data(scope):
        return Reading(value=None, sample=0)
    ready = _journeys(ORDER, scope, "ready_at", window)
    total = ready.count()
    clean = ready.filter(collected_at__isnull=False, fallout_at__isnull=True, substituted=False, short=False).count()
    return Reading(
        value=share(clean, total), sample=total, records_url=_url(ORDER, "ready_for_pickup", scope, window),
        detail={"marked_ready": total, "collected_as_ready": clean},
    )


def _median(kind, scope, window, step_field, leg, step):
    if _no_data(scope):
        return Reading(value=None, sample=0)
    journeys = _journeys(kind, scope, step_field, window).filter(**{f"{leg}__isnull": False})
    seconds, count = nearest_rank(journeys, leg, Decimal("0.5"))
    return Reading(
        value=None if seconds is None else Decimal(seconds), sample=count,
        records_url=_url(kind, step, scope, window),
    )


def order_to_ready_time(scope, window):
    return _median(ORDER, scope, window, "ready_at", "ready_s", "ready_for_pickup")


def refund_received_to_refunded(scope, window):
    return _median(RETURN, scope, window, "refunded_at", "refund_s", "refunded")


def refund_refunded_to_settled(scope, window):
    return _median(RETURN, scope, window, "settled_at", "settle_s", "settled")


def promotion_override_frequency(scope, window):
    """Price override steps over promotion sale steps that occurred in the
    window, each at its own location (else its journey's)."""
    if _no_data(scope):
        return Reading(value=None, sample=0)
    steps = JourneyStep.objects.filter(
        journey__kind=PROMOTION, step__in=("price_override", "promotion_sale"), occurred_at__lt=window.until,
    )
    if window.since is not None:
        steps = steps.filter(occurred_at__gte=window.since)
    if scope.locations is not None:
        steps = steps.annotate(at_location=Coalesce("location_id", "journey__location_id"))
        steps = steps.filter(at_location__in=scope.locations)
    if scope.channels is not None:
        steps = steps.filter(journey__channel__in=scope.channels)
    sales = steps.filter(step="promotion_sale").count()
    by_cashier = dict(
        steps.filter(step="price_override").values_list("cashier").annotate(n=Count("id")).order_by("cashier")
    )
    overrides = sum(by_cashier.values())
    return Reading(
        value=share(overrides, sales), sample=sales, records_url=_url(PROMOTION, "price_override", scope, window),
        detail={"price_overrides": overrides, "promotion_sales": sales, "by_cashier": by_cashier},
    )


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


def register():
    """The journey metrics, the channel dimension and the changed days."""
    scopes = ("locations", "channels")
    register_metric(
        "order_fallout_rate", "Order fallout rate", unit=Unit.PERCENT, better=LOWER,
        compute=order_fallout_rate, target="2", amber="5", scopes=scopes,
        definition="Orders placed in the window that reached fallout (could not be fulfilled, with a reason "
                   "code), over the orders placed in the window.",
    )
    register_metric(
        "pickup_readiness_accuracy", "Pickup readiness accuracy", unit=Unit.PERCENT, better=HIGHER,
        compute=pickup_readiness_accuracy, target="98", amber="95", scopes=scopes, rollup_days=WEEK,
        definition="Orders marked ready for pickup in the window that were collected without a short, a "
                   "substitution or a fallout, over the orders marked ready in the window (one not yet "
                   "collected is not yet accurate).",
    )
    register_metric(
        "order_to_ready_time", "Order to ready time", unit=Unit.SECONDS, better=LOWER,
        compute=order_to_ready_time, target="7200", amber="14400", scopes=scopes, rollup_days=WEEK,
        definition="Median time from an order placed to ready for pickup, of the orders marked ready in the "
                   "window.",
    )
    register_metric(
        "refund_received_to_refunded", "Refund cycle: received to refunded", unit=Unit.SECONDS, better=LOWER,
        compute=refund_received_to_refunded, target="172800", amber="432000", scopes=scopes,
        rollup_days=WEEK,
        definition="Median time from a return received at the store to the customer refunded, of the returns "
                   "refunded in the window.",
    )
    register_metric(
        "refund_refunded_to_settled", "Refund cycle: refunded to settled", unit=Unit.SECONDS, better=LOWER,
        compute=refund_refunded_to_settled, target="432000", amber="864000", scopes=scopes,
        rollup_days=WEEK,
        definition="Median time from a refund to its settlement in finance, of the returns settled in the "
                   "window.",
    )
    register_metric(
        "promotion_override_frequency", "Promotion override frequency", unit=Unit.PERCENT, better=LOWER,
        compute=promotion_override_frequency, target="2", amber="5", scopes=scopes,
        definition="Prices overridden at the till on promotion (with a reason, by a cashier) over promotion "
                   "sale lines, in the window.",
    )
    register_dimension("channel", "Channel", part="channels", members=channels)
    register_changes(days_changed_since)
