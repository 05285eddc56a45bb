from datetime import UTC, datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection

from controltower.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tasks run inline in tests unless a test starts a real worker."""
    celery_app.conf.update(task_always_eager=True, task_eager_propagates=True)


@pytest.fixture
def endpoint():
    """A local HTTP endpoint for Apprise's json:// channels (tests.webhook)."""
    from tests.webhook import Endpoint

    endpoint = Endpoint()
    yield endpoint
    endpoint.close()


@pytest.fixture
def retried_inline():
    """Inline tasks that do not raise into their caller: Celery then runs a
    retry at once (a raised Retry would end the test instead)."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """PBKDF2 costs about a second per user on these machines; tests need no strength."""
    # PBKDF2 stays second so hashes made outside a test (module fixtures) still check.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _roomy_api_throttles(settings):
    """The suite makes many API calls as a few users (and SQLite reuses their
    ids from test to test): rates no test reaches. The throttle classes still
    run; tests/controltower/test_web_limits.py sets low rates to prove they hold."""
    settings.API_THROTTLE_RATES = {"source": "100000/min", "person": "100000/min", "webhook": "100000/min"}


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


def on_postgres():
    return connection.vendor == "postgresql"


# The fixed dates some modules' data carry (events of November 2026) are
# in the past only after them: those modules start the clock here (ticking),
# so they pass under a clock set anywhere (faketime, a machine's bad clock).
AFTER_FIXED_DATES = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock_after_fixed_dates(time_machine):
    time_machine.move_to(AFTER_FIXED_DATES)


@pytest.fixture
def default_routing(db):
    """The teams, routing rules, SLA policies and trading hours of the data
    migration and of every detector, as every migrated database has them. A
    transactional test's flush removes them for the tests after it; this puts
    them back."""
    from exceptions.detectors import declared, install_defaults
    from exceptions.models import SLAPolicy

    if not SLAPolicy.objects.exists():
        defaults = import_module("exceptions.migrations.0002_default_routing_sla_hours")
        defaults.load_routing(apps)
        defaults.load_trading_week(apps.get_model("inventory", "TradingHours"))
        install_defaults(apps, kinds=declared())


class Cast:
    """The people of one role: an owner whose scope holds `store`, a colleague
    with the same scope, and an outsider who sees only `other_store` (None
    for the roles that see the whole estate: no scope keeps them out)."""

    def __init__(self, owner, colleague, outsider):
        self.owner, self.colleague, self.outsider = owner, colleague, outsider


class People:
    """One shared set of people, so a test of an action can also test who may not."""

    def __init__(self):
        from controltower.models import Role
        from controltower.scoping import ESTATE_ROLES
        from tests.controltower.factories import UserFactory
        from tests.inventory.factories import LocationFactory, RegionFactory

        self.store = LocationFactory(code="S-OWN", region=RegionFactory(code="R-OWN"))
        self.other_store = LocationFactory(code="S-OTHER", region=RegionFactory(code="R-OTHER"))
        self.nobody = UserFactory(username="nobody")  # signed in, no role
        self.by_role = {
            role: Cast(
                self._person(role, "owner", self.store),
                self._person(role, "colleague", self.store),
                None if role in ESTATE_ROLES else self._person(role, "outsider", self.other_store),
            )
            for role in Role
        }

    @staticmethod
    def _person(role, who, store):
        """A person of `role` whose scope is `store` (its region for regional ops)."""
        from controltower.models import Role
        from tests.controltower.factories import make_user

        username = f"{role.value.replace('_', '-')}-{who}"
        if role == Role.STORE_MANAGER:
            return make_user(role, locations=[store], username=username)
        if role == Role.REGIONAL_OPS:
            return make_user(role, region=store.region, username=username)
        return make_user(role, username=username)

    def __getitem__(self, role):
        return self.by_role[role]


@pytest.fixture
def people(db):
    """For each role an owner, a colleague and an outsider (see People)."""
    return People()
