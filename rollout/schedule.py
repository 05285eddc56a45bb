"""Cutover scheduling: never inside a blackout window (peak trading,
Wave.refuse_blackout, the check the admin's Wave.clean makes too)."""
from django.core.exceptions import PermissionDenied

from controltower.permissions import may_manage_rollout


def schedule_cutover(wave, day, *, user):
    """Set the wave's planned cutover to `day` (None clears it)."""
    if not may_manage_rollout(user):
        raise PermissionDenied("Only the PMO schedules cutovers.")
    if day is not None:
        wave.refuse_blackout(day)
    wave.planned_cutover = day
    wave.save(update_fields=["planned_cutover"])
    return wave
