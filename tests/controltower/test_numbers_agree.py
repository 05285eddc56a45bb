"""One number, one truth: every dashboard of the demo rendered on one
dataset, and every two places showing the same measure for the same scope
agree. Tiles and table cells that show a registered metric name it in data
attributes (data-metric, data-scope, data-value: the text shown); the
other pairs (a tile and the list under it) are read from the page.

The demo is rolled up first and reconciled after, as on a served demo whose
worker opens cases between two rollups: the counts of open cases must
still agree with the lists."""
import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.utils import timezone

from controltower import rollups
from controltower.demo.retailer import load_demo
from exceptions.detectors import DETECTORS
from exceptions.reconciliation import run_reconciliation
from inventory.models import Location, Region
from rollout.models import Wave

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(size="small")
        rollups.roll_up_since(rollups.utc_today() - timedelta(days=2))
        for kind in DETECTORS:  # cases opened after the rollup
            run_reconciliation(kind)
        yield
        transaction.set_rollback(True)


class Measures(HTMLParser):
    """The elements of a page that carry data-metric, and the visible text of each element by id."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-metric" in attrs:
            self.found.append((attrs["data-metric"], attrs.get("data-scope", ""), attrs.get("data-value", "")))


def measures(html):
    parser = Measures()
    parser.feed(html)
    return parser.found


def text_of(html):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def pages():
    """Every dashboard of the demo, as the people who see it."""
    pilot = Wave.objects.get(name="Pilot (demo)")
    stores = list(Location.objects.filter(wave_memberships__wave=pilot).order_by("code"))
    regions = sorted({store.region.code for store in stores})
    yield "executive", "/hypercare/"  # the landing: each live wave's verdict and KPIs
    yield "executive", f"/hypercare/waves/{pilot.pk}/"
    for region in regions:
        yield "executive", f"/hypercare/waves/{pilot.pk}/regions/{region}/"
    for store in stores:
        yield "executive", f"/hypercare/waves/{pilot.pk}/stores/{store.code}/"
        yield "admin", f"/stores/{store.code}/"
    for region in Region.objects.order_by("code"):
        yield "admin", f"/region/?region={region.code}"
    yield "ops.germany", "/region/"
    yield "manager.berlin", "/stores/DE001/"
    yield "finance", "/variances/"
    yield "integration", "/integration/"


def render(username, url):
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get(url)
    assert response.status_code == 200, (username, url, response.status_code)
    return response.content.decode()


def test_every_two_places_showing_one_measure_of_one_scope_agree(demo):
    seen = {}
    with time_machine.travel(timezone.now(), tick=False):  # the live counts (case ages) at one moment
        for username, url in pages():
            for metric, scope, value in measures(render(username, url)):
                assert scope, f"{url}: {metric} shown without its scope"
                seen.setdefault((metric, scope), []).append((value, url))
    assert len(seen) > 100  # the tiles, the stores' cells, the open-case counts, the feeds
    disagree = {key: sorted(places) for key, places in seen.items() if len({value for value, _ in places}) > 1}
    assert not disagree
    # The open cases of the wave: the tile and the table under it, on the same page.
    pilot = Wave.objects.get(name="Pilot (demo)")
    assert len(seen[("open_sev2_cases", f"wave:{pilot.pk}")]) >= 2


def test_a_store_pages_severity_2_tile_counts_the_cases_it_lists(demo):
    for code in ("DE001", "DE002", "FR001"):
        html = render("admin", f"/stores/{code}/")
        tile = next(value for metric, scope, value in measures(html) if metric == "open_sev2_cases")
        listed = html.count('<span class="badge badge-sev2">Severity 2</span>')
        assert int(tile) == listed, code


def test_the_variances_tile_is_the_value_of_the_snapshot_cases_below_it(demo):
    html = render("finance", "/variances/")
    tile = next(value for metric, _scope, value in measures(html) if metric == "variance_value_at_risk")
    operational = text_of(html).split("Operational (on-hand snapshots)")[1].split("By location and category")[0]
    listed = sum((Decimal(value.replace(",", "")) for value in re.findall(r"([\d,]+\.\d\d) at risk", operational)),
                 Decimal(0))
    assert Decimal(tile.replace(",", "")) == listed
