"""Reading positions: the figures screens show about stock per location."""
from functools import reduce
from operator import or_

from django.db.models import Count, Q

from .models import STATES, CountVariance, Position


def negative_position_counts(location_ids):
    """{location_id: positions with negative available stock} for these locations."""
    return dict(
        Position.objects.filter(location__in=location_ids, available__lt=0)
        .values("location").annotate(n=Count("id")).values_list("location", "n")
    )


def search_positions(location, text="", state="", negative_only=False):
    """The positions of one location, by SKU code: `text` a part of the SKU
    code or description; `state` one of STATES, keeping the positions with a
    non-zero quantity in it; `negative_only` the positions below zero (in
    `state`, or in any state when none is given)."""
    if state and state not in STATES:
        raise ValueError(f"state: unknown state '{state}'; one of {', '.join(STATES)}.")
    positions = Position.objects.filter(location=location).select_related("sku")
    text = text.strip()
    if text:
        positions = positions.filter(Q(sku__code__icontains=text) | Q(sku__description__icontains=text))
    if state:
        positions = positions.exclude(**{state: 0})
    if negative_only:
        below_zero = [state] if state else STATES
        positions = positions.filter(reduce(or_, (Q(**{f"{name}__lt": 0}) for name in below_zero)))
    return positions.order_by("sku__code")


def count_history(location):
    """The cycle counts of one location with their variance, latest first."""
    return CountVariance.objects.filter(location=location).select_related("sku").order_by("-counted_at", "-id")
