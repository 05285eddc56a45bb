"""A source gone stale reaches the people who watch the feeds, once per silence (inventory.alerts)."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest

from controltower.models import Alert, Role
from inventory.alerts import stale_sources
from inventory.models import SourceSystem
from tests.controltower.factories import make_user
from tests.inventory.factories import SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 4, 12, tzinfo=dt_timezone.utc)  # a Wednesday noon


def test_a_silent_source_is_told_once_per_silence():
    watcher = make_user(Role.INTEGRATION_ADMIN, username="ida")
    make_user(Role.STORE_MANAGER, username="sam")
    source = SourceSystemFactory(code="WMS-1", kind=SourceSystem.Kind.WMS, expected_interval_s=600,
                                 last_event_at=NOW - timedelta(hours=2))
    SourceSystemFactory(code="WMS-2", kind=SourceSystem.Kind.WMS, expected_interval_s=86400,
                        last_event_at=NOW - timedelta(minutes=1))
    assert stale_sources(NOW) == 1
    assert stale_sources(NOW + timedelta(minutes=15)) == 0  # the same silence
    alert = Alert.objects.get()
    assert (alert.user, alert.subject) == (watcher, "[Control Tower] Source WMS-1 went stale")

    SourceSystem.objects.filter(pk=source.pk).update(last_event_at=NOW + timedelta(hours=1))
    assert stale_sources(NOW + timedelta(hours=3)) == 1  # heard, then silent again: a new silence
