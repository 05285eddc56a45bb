"""What a person reads: a crawl of every screen of the demo each role can
reach (tests/crawl.py), asserting no ISO timestamps or days, no
microseconds and no internal keys (snake_case codes, "Sla hours") in the
visible text. Codes a person needs as they are (a SKU, a transaction id, a
case reference) are shown in <code> and are not read here."""
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client

from controltower import rollups
from controltower.demo.people import USERS
from controltower.demo.retailer import load_demo
from exceptions.detectors import DETECTORS
from exceptions.reconciliation import run_reconciliation
from exceptions.services.sla import escalation_sweep
from tests.crawl import crawl, problems

pytestmark = pytest.mark.django_db
PAGES_PER_ROLE = 45


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(size="small")
        for kind in DETECTORS:
            run_reconciliation(kind)
        escalation_sweep()
        rollups.roll_up_since(rollups.utc_today() - timedelta(days=1))
        yield
        transaction.set_rollback(True)


@pytest.mark.parametrize("username", [user[0] for user in USERS])
def test_no_iso_time_microseconds_or_internal_key_on_any_screen(demo, username):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    pages = crawl(client, limit=PAGES_PER_ROLE)
    assert len(pages) >= 3  # the landing and what it links to
    found = {url: problems(text) for url, text in pages.items()}
    assert {url: found_there[:3] for url, found_there in found.items() if found_there} == {}


def test_a_journey_case_page_says_its_step_and_its_case_due_times_apart(demo):
    """The journey's step SLA (when the order should have moved) and the case's own due time are
    two things: each says which it is, in the store's time zone."""
    from exceptions.models import Case

    case = Case.objects.filter(kind="journey_stuck", location__isnull=False).select_related("location").first()
    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    html = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Step SLA ran out" in html and "Due at" not in html
    assert "Order to fulfilment" in html and "order_to_fulfilment" not in html.split("<main")[1].split("data-")[0]
