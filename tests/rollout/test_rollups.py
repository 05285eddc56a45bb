"""Rollout's part of the KPI rollups: the `wave` dimension (each wave's
stores) and the days a training record completed in the past changes."""
from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.utils import timezone

from controltower import rollups
from controltower.models import KpiDay
from rollout.rollups import days_changed_since, waves
from tests.controltower.test_rollups import table
from tests.inventory.factories import LocationFactory
from tests.rollout.factories import TrainingModuleFactory, TrainingRecordFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def wave():
    """S1 and S2 in the wave, S3 not; two required modules: P1 at S1 has both, P2 at S2 one."""
    s1, s2, s3 = (LocationFactory(code=code) for code in ("S1", "S2", "S3"))
    wave = WaveFactory(name="North", stores=[s1, s2])
    tills, counts = TrainingModuleFactory(code="TILLS"), TrainingModuleFactory(code="COUNTS")
    done = timezone.now() - timedelta(days=3)
    for person, store, modules in [("P1", s1, [tills, counts]), ("P2", s2, [tills]), ("P3", s3, [tills])]:
        for module in modules:
            TrainingRecordFactory(person_id=person, location=store, module=module, completed_at=done)
    return wave


def test_each_wave_is_a_member_with_its_stores(wave):
    WaveFactory(name="Empty")  # no stores: no member
    members = waves()
    assert set(members) == {str(wave.pk)}
    assert members[str(wave.pk)].locations == frozenset(wave.locations.values_list("pk", flat=True))


def test_the_wave_rollup_measures_its_stores_only(wave):
    today = rollups.utc_today()
    rollups.roll_up_since(today - timedelta(days=1))
    row = KpiDay.objects.get(metric="training_completion", dimension="wave", member=str(wave.pk), day=today)
    assert row.value == 50  # P1 of P1 and P2; P3 is not at a store of the wave
    assert row.sample == 2


def test_a_record_completed_in_the_past_changes_every_day_since(wave):
    now = timezone.now()
    TrainingRecordFactory(person_id="P9", location=wave.locations.first(), completed_at=now - timedelta(days=5))
    today = rollups.utc_today()
    first = (now - timedelta(days=5)).astimezone(dt_timezone.utc).date()
    assert days_changed_since(now - timedelta(minutes=1)) == {first + timedelta(days=n)
                                                             for n in range((today - first).days + 1)}
    assert days_changed_since(timezone.now() + timedelta(minutes=1)) == set()


def test_the_incremental_rollup_equals_a_from_scratch_one_after_late_training(wave):
    today = rollups.utc_today()
    rollups.roll_up_since(today - timedelta(days=6))
    before = KpiDay.objects.get(metric="training_completion", dimension="wave", member=str(wave.pk),
                                day=today - timedelta(days=2)).value
    # P2's missing module arrives late from the LMS: completed four days ago.
    TrainingRecordFactory(person_id="P2", location=wave.locations.get(code="S2"),
                          module=TrainingModuleFactory(code="COUNTS"), completed_at=timezone.now() - timedelta(days=4))
    rollups.roll_up()
    incremental = table()
    after = KpiDay.objects.get(metric="training_completion", dimension="wave", member=str(wave.pk),
                               day=today - timedelta(days=2)).value
    assert (before, after) == (50, 100)
    rollups.roll_up_since(today - timedelta(days=6))
    assert incremental == table()
