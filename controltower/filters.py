"""Filters every list shares, on screens and in the API: several codes in one
parameter, and a time read as ISO 8601 and handed to the database in UTC."""
from datetime import timezone as dt_timezone

import django_filters
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, handed to the database in UTC, as the ledger stores
    times: PostgreSQL refuses an offset beyond 15:59 ('+16:31' was a 500),
    and a time that is no time in UTC (year 1 at +01:00, year 9999 at
    -14:00) is refused with a 400 naming the parameter."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(dt_timezone.utc)
        except OverflowError:
            raise ValidationError("Out of range: a time between years 1 and 9999 in UTC.", code="invalid")


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class CodesFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    """Several codes, comma-separated (`?locations=DE001,DE002`): the records
    behind a metric measured over a set of locations or sources."""
