"""The detector registry (exceptions.detectors, issue 20): a case kind is
declared once, and adding one is one module and its registration. Beat's
schedule, `manage.py reconcile`, the kind choices and the default routing
and SLA all read it."""
from importlib import import_module

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from controltower.celery import app as celery_app
from exceptions.detectors import DETECTORS, Detector, Route, beat_schedule, kind_choices, register
from exceptions.findings import Finding
from exceptions.models import Case, InstalledKind, RoutingRule, SLAPolicy
from exceptions.reconciliation_tasks import tasks
from inventory.models import Location
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db

KEY = "store_without_go_live"


def stores_without_go_live() -> list[Finding]:
    """The throwaway kind's finder: a store with no go-live date."""
    return [Finding(kind=KEY, location_id=store.pk, sku_id=None, severity=2, summary=f"{store.code} has no go-live date")
            for store in Location.objects.filter(kind=Location.Kind.STORE, go_live_date=None)]


@pytest.fixture
def new_kind():
    """A kind registered as a new module would register it, and gone after the test."""
    detector = register(Detector(KEY, "Store without a go-live date", stores_without_go_live, every_s=600,
                                 routes=(Route("INTEGRATION"),), sla={2: (15, 60)}))
    yield detector
    del DETECTORS[KEY]


def test_a_new_kind_is_scheduled_every_its_interval_unless_told(new_kind, monkeypatch):
    assert beat_schedule()[f"reconcile-{KEY}"] == {
        "task": f"reconcile.{KEY}", "schedule": 600, "options": {"expires": 540}}

    monkeypatch.setenv("RECONCILE_STORE_WITHOUT_GO_LIVE_EVERY_S", "60")

    assert beat_schedule()[f"reconcile-{KEY}"]["schedule"] == 60


def test_a_new_kind_gets_its_default_routing_and_sla_after_a_migrate_once(new_kind, default_routing):
    call_command("migrate", verbosity=0)

    rule = RoutingRule.objects.get(kind=KEY)
    assert (rule.team.code, rule.severity, rule.region, rule.priority) == ("INTEGRATION", None, None, 100)
    policy = SLAPolicy.objects.get(kind=KEY)
    assert (policy.severity, policy.response_minutes, policy.resolution_minutes) == (2, 15, 60)
    assert InstalledKind.objects.filter(kind=KEY).exists()

    # What the admins change afterwards stands: a rule deleted is not put back.
    rule.delete()
    call_command("migrate", verbosity=0)

    assert not RoutingRule.objects.filter(kind=KEY).exists()


def test_a_new_kind_runs_with_manage_py_reconcile_and_its_cases_are_routed(new_kind, default_routing, capsys):
    call_command("migrate", verbosity=0)
    store = LocationFactory(go_live_date=None)

    call_command("reconcile", KEY)

    assert f"{KEY}: 1 opened" in capsys.readouterr().out
    case = Case.objects.get(kind=KEY)
    assert (case.location, case.owner.code, case.sla_policy.kind) == (store, "INTEGRATION", KEY)
    assert case.get_kind_display() == "Store without a go-live date"


def test_a_new_kind_needs_no_migration(new_kind):
    assert (KEY, "Store without a go-live date") in kind_choices()
    assert (KEY, "Store without a go-live date") in Case._meta.get_field("kind").choices

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits 1 on a change


# Beat closes a connection in a transaction (close_old_connections), as a test's would be.
@pytest.mark.django_db(transaction=True)
def test_beat_installs_every_detector_in_its_database_schedule():
    """django-celery-beat's DatabaseScheduler writes app.conf.beat_schedule,
    which holds the registry's entries, to its tables when beat starts."""
    DatabaseScheduler(app=celery_app)

    for key, detector in DETECTORS.items():
        task = PeriodicTask.objects.get(name=f"reconcile-{key}")
        assert (task.task, task.interval.every, task.interval.period) == (
            f"reconcile.{key}", detector.every(), "seconds")
        assert tasks[key].name == f"reconcile.{key}"
    assert PeriodicTask.objects.filter(name="rollout-evaluate-gates").exists()


def test_the_defaults_of_the_kinds_before_the_registry_are_what_their_migrations_put():
    """Their databases recorded them as installed (0016): the registry says what they have."""
    rules = set()
    for migration in ("0002_default_routing_sla_hours", "0008_projection_drift_routing",
                      "0010_transfer_in_without_out_routing", "0013_journey_stuck_kind"):
        rules |= {rule for rule in import_module(f"exceptions.migrations.{migration}").RULES if rule[0]}
    recorded = import_module("exceptions.migrations.0017_detector_registry").KINDS

    # The kinds registered since (the anomalies) get theirs from the registry at migrate.
    before = {key: DETECTORS[key] for key in recorded}
    assert rules == {(key, route.severity, route.team, route.priority)
                     for key, detector in before.items() for route in detector.routes}
    assert recorded == list(DETECTORS)[:len(recorded)]
    assert not any(detector.sla for detector in before.values())
