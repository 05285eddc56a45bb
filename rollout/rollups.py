"""Rollout's part of the KPI rollups (controltower.rollups): the `wave`
dimension (each wave's stores, member code the wave's id: names repeat
across programs and may be renamed), the `wave_region` dimension (a wave's
stores in one region, member "<wave id>:<region code>": what the hypercare
region page shows), and the days that training records change.

Training is a state measured as of a day's end (rollout.training), so a
record completed in the past changes every day from its completion to
today. A retake that moves a completion later cannot say the day it moved
from; rerun `rollup_kpis --since` for those days if exactness matters.
"""
from datetime import timedelta
from datetime import timezone as dt_timezone

from django.db.models import Min

from controltower.metrics import Scope
from controltower.rollups import register_changes, register_dimension, utc_today

from .models import TrainingRecord, WaveLocation

WAVE_DIMENSION = "wave"
WAVE_REGION_DIMENSION = "wave_region"


def wave_region_member(wave, region):
    return f"{wave.pk}:{region.code}"


def waves():
    """{wave id: the scope of its locations}; a wave without locations has no member."""
    by_wave = {}
    for wave, location in WaveLocation.objects.values_list("wave_id", "location_id"):
        by_wave.setdefault(str(wave), []).append(location)
    return {code: Scope.of(locations=pks) for code, pks in by_wave.items()}


def wave_regions():
    """{"<wave id>:<region code>": the scope of the wave's locations in that region}."""
    by_member = {}
    for wave, region, location in WaveLocation.objects.values_list("wave_id", "location__region__code",
                                                                    "location_id"):
        by_member.setdefault(f"{wave}:{region}", []).append(location)
    return {code: Scope.of(locations=pks) for code, pks in by_member.items()}


def days_changed_since(moment):
    """Every day from the earliest completion among the training records
    received or changed since `moment`, to today."""
    earliest = TrainingRecord.objects.filter(updated_at__gte=moment).aggregate(earliest=Min("completed_at"))["earliest"]
    if earliest is None:
        return set()
    first, today = earliest.astimezone(dt_timezone.utc).date(), utc_today()
    return {first + timedelta(days=n) for n in range((today - first).days + 1)}


def register_rollups():
    register_dimension(WAVE_DIMENSION, "Wave", part="locations", members=waves)
    register_dimension(WAVE_REGION_DIMENSION, "A wave's stores in a region", part="locations", members=wave_regions)
    register_changes(days_changed_since)
