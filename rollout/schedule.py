"""Cutover scheduling: never inside a blackout window (peak trading).

The one check the API, the admin (Wave.clean) and the screens share.
"""
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q

from controltower.permissions import may_manage_rollout
from controltower.when import day as when_day

from .models import BlackoutWindow


def blackouts_for(wave):
    """The blackout windows that apply to `wave`: its program's, and those of
    the regions of its locations (for any program, or for this one)."""
    applies = Q(program_id=wave.program_id, region__isnull=True)
    if wave.pk is not None:
        regions = wave.locations.values("region_id")
        applies |= Q(region_id__in=regions) & (Q(program__isnull=True) | Q(program_id=wave.program_id))
    return BlackoutWindow.objects.filter(applies).select_related("region")


def blackout_on(wave, day):
    """The first blackout window of `wave` that contains `day`, or None."""
    return blackouts_for(wave).filter(starts_on__lte=day, ends_on__gte=day).order_by("starts_on").first()


def refuse_blackout(wave, day, *, field="planned_cutover"):
    """Raise a ValidationError naming the window when `day` is inside one."""
    window = blackout_on(wave, day)
    if window is not None:
        where = f" for region {window.region.code}" if window.region_id else ""
        raise ValidationError({field: (
            f"A cutover on {when_day(day)} falls in the blackout window \"{window.name}\"{where} "
            f"({when_day(window.starts_on)} to {when_day(window.ends_on)}); choose another day."
        )})


def schedule_cutover(wave, day, *, user):
    """Set the wave's planned cutover to `day` (None clears it)."""
    if not may_manage_rollout(user):
        raise PermissionDenied("Only the PMO schedules cutovers.")
    if day is not None:
        refuse_blackout(wave, day)
    wave.planned_cutover = day
    wave.save(update_fields=["planned_cutover"])
    return wave
