"""Exceptions' part of the KPI rollups (controltower.rollups). Cases open and
resolve now, so they change today only (always rolled); a duplicate verdict
given today changes the day its later line was received."""
from datetime import timezone as dt_timezone

from django.db.models.functions import TruncDate

from controltower.rollups import register_changes

from .models import DuplicateVerdict


def days_changed_since(moment):
    verdicts = DuplicateVerdict.objects.filter(decided_at__gte=moment)
    return set(verdicts.annotate(utc_day=TruncDate("later_event__received_at", tzinfo=dt_timezone.utc))
               .values_list("utc_day", flat=True).distinct())


def register_rollups():
    register_changes(days_changed_since)
