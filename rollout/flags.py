"""What must not go unnoticed about a wave's dates, for the board and the
wave page:

- a waiver that expires before the wave's cutover: the criterion will count
  as failing again before the wave goes live (unless it is fixed);
- a cutover date the wave's stores disagree with: a store's go-live date
  other than the wave's cutover (the actual one once cut over, else the
  planned one), or a go-live date where the wave has no cutover planned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.utils import timezone

from controltower.when import day

from .models import Gate, Waiver, WaveLocation


def cutover_of(wave) -> date | None:
    return wave.actual_cutover or wave.planned_cutover


@dataclass
class WaiverFlag:
    waiver: Waiver
    cutover: date

    @property
    def words(self):
        return (f"Waiver of {self.waiver.criterion} on {self.waiver.gate.template.get_kind_display()} "
                f"expires {day(self.waiver.expires_at)}, before the cutover on {day(self.cutover)}")


@dataclass
class GoLiveFlag:
    location: object
    cutover: date | None

    @property
    def words(self):
        store = f"{self.location.code} goes live {day(self.location.go_live_date)}"
        if self.cutover is None:
            return f"{store}; the wave has no cutover planned"
        return f"{store}; the wave cuts over {day(self.cutover)}"


def waivers_before_cutover(waves, at=None) -> dict[int, list[WaiverFlag]]:
    """{wave id: [WaiverFlag]}: approved waivers still live at `at` (now) on
    a gate not passed, that expire before the start of the wave's cutover day."""
    at = at or timezone.now()
    waves = {wave.pk: wave for wave in waves if wave.actual_cutover is None and wave.planned_cutover}
    found = {}
    for waiver in (Waiver.objects.filter(gate__wave_id__in=waves, approved_at__isnull=False, expires_at__gt=at)
                   .exclude(gate__status=Gate.Status.PASSED)
                   .select_related("criterion", "gate__template").order_by("expires_at", "pk")):
        cutover = waves[waiver.gate.wave_id].planned_cutover
        if waiver.expires_at < timezone.make_aware(datetime.combine(cutover, time.min)):
            found.setdefault(waiver.gate.wave_id, []).append(WaiverFlag(waiver, cutover))
    return found


def go_live_disagreements(waves) -> dict[int, list[GoLiveFlag]]:
    """{wave id: [GoLiveFlag]}: the wave's stores whose go-live date is not its cutover."""
    waves = {wave.pk: wave for wave in waves}
    found = {}
    for member in (WaveLocation.objects.filter(wave_id__in=waves, location__go_live_date__isnull=False)
                   .select_related("location").order_by("location__code")):
        cutover = cutover_of(waves[member.wave_id])
        if member.location.go_live_date != cutover:
            found.setdefault(member.wave_id, []).append(GoLiveFlag(member.location, cutover))
    return found
