"""A test metric the gates measure: its value per location is set by the test,
optionally from a given time on (so a window ending earlier reads the
earlier value). The inventory and exceptions metrics are another app's."""
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import pytest

from controltower import metrics
from controltower.metrics import HIGHER, Reading, Unit


@dataclass
class Gauge:
    # (from, {location id: value}), in time order; the last one starting at or
    # before a window's end is what that window reads.
    readings: list = field(default_factory=list)

    def set(self, values, since=datetime.min):
        from django.utils import timezone

        since = since if since is not datetime.min else timezone.make_aware(datetime(2000, 1, 1))
        self.readings.append((since, {location.pk: Decimal(str(value)) for location, value in values.items()}))
        self.readings.sort(key=lambda reading: reading[0])

    def compute(self, scope, window):
        current = {}
        for since, values in self.readings:
            if since <= window.until:
                current = values
        found = [current[pk] for pk in (scope.locations or ()) if pk in current]
        if not found:
            return Reading(None, 0)
        return Reading(sum(found) / len(found), len(found), "/api/v1/locations")


@pytest.fixture
def gauge():
    gauge = Gauge()
    metrics.register("test_gauge", "Test gauge", definition="Set by the test.", unit=Unit.PERCENT,
                     better=HIGHER, compute=gauge.compute, target=None)
    yield gauge
    metrics._metrics.pop("test_gauge")
