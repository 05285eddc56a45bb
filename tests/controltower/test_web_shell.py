"""The web shell: login, logout, home page, navigation by role, health check."""
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles import finders
from django.db import OperationalError
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from drf_spectacular.views import SpectacularSwaggerView

from controltower import counts, views
from controltower.models import Role
from controltower.web import views as web_views
from controltower.widgets import LongSelect
from inventory.ledger import ingest_events
from inventory.models import Position, RejectedEvent
from tests.controltower.factories import UserFactory, make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

PASSWORD = "pw-for-tests"


def _screen(request):
    return render(request, "base.html")


# The shell's own urls and nothing else, whatever screens the project has by now.
SHELL_URLS = [
    path("admin/", admin.site.urls),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", web_views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]

# For the navigation tests: the shell plus one screen ("cases") that exists,
# while every other screen of the navigation does not.
urlpatterns = SHELL_URLS + [path("cases/", _screen, name="cases")]


def _sale(txn, location_code, sku, quantity=3):
    return {
        "transaction_id": txn,
        "type": "sale",
        "location": location_code,
        "sku": sku.code,
        "quantity": quantity,
        "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }


@pytest.fixture
def estate():
    """My store and an outsider's store, one SKU, one POS source."""
    mine = LocationFactory(code="S100", name="Berlin Mitte")
    theirs = LocationFactory(code="S900", name="Hamburg Hafen")
    return {"mine": mine, "theirs": theirs, "sku": SKUFactory(), "source": SourceSystemFactory()}


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Control Tower" in body
    assert 'name="username"' in body and 'name="password"' in body


@pytest.mark.django_db
def test_bad_password_shows_error_inline(client):
    user = make_user(Role.STORE_MANAGER)
    response = client.post("/login/", {"username": user.username, "password": "wrong"})
    assert response.status_code == 200
    assert 'class="form-errors"' in response.content.decode()
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_login_redirects_home(client):
    user = make_user(Role.STORE_MANAGER)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == "/"
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.django_db
def test_anonymous_home_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == "/login/?next=/"


@pytest.mark.django_db
def test_home_lists_only_in_scope_locations(client, estate):
    manager = make_user(Role.STORE_MANAGER, locations=[estate["mine"]])
    client.force_login(manager)
    response = client.get("/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Store manager" in body
    assert "S100" in body and "Berlin Mitte" in body
    assert "S900" not in body and "Hamburg Hafen" not in body
    assert response.context["counts"]["locations"] == 1


@pytest.mark.django_db
def test_home_counts_only_in_scope_ledger_and_negative_positions(client, estate):
    sku, source = estate["sku"], estate["source"]
    # Sales are facts: with no stock both stores go negative.
    ingest_events(source, [_sale("T1", "S100", sku), _sale("T2", "S900", sku)])
    assert Position.objects.filter(available__lt=0).count() == 2

    client.force_login(make_user(Role.STORE_MANAGER, locations=[estate["mine"]]))
    counts = client.get("/").context["counts"]
    assert counts["negative_available"] == 1
    assert counts["events_24h"] == 1
    assert counts["skus"] == 1


@pytest.mark.django_db
def test_home_counts_whole_estate_for_estate_roles(client, estate):
    sku, source = estate["sku"], estate["source"]
    ingest_events(source, [_sale("T1", "S100", sku), _sale("T2", "S900", sku)])
    # The admin: the estate role whose main screen is home (the others land on their board).
    client.force_login(make_user(Role.ADMIN))
    counts = client.get("/").context["counts"]
    assert counts["locations"] == 2
    assert counts["negative_available"] == 2
    assert counts["events_24h"] == 2


@pytest.mark.django_db
def test_home_counts_of_the_ledger_stop_at_the_cap(client, estate, monkeypatch):
    sku, source = estate["sku"], estate["source"]
    ingest_events(source, [_sale(f"T{n}", "S100", sku) for n in range(4)])
    monkeypatch.setattr(counts, "COUNT_CAP", 3)
    client.force_login(make_user(Role.ADMIN))
    response = client.get("/")
    assert response.context["counts"]["events_24h"] == 4  # cap + 1: "more than the cap"
    assert "3+</span>" in response.content.decode()


@pytest.mark.django_db
def test_rejections_are_counted_for_the_estate_only(client, estate):
    source = estate["source"]
    ingest_events(source, [_sale("BAD1", "NOPE", estate["sku"])])
    assert RejectedEvent.objects.filter(replayed_at__isnull=True).count() == 1

    client.force_login(make_user(Role.ADMIN))
    response = client.get("/")
    assert response.context["counts"]["rejections_pending"] == 1
    assert "Rejected events kept, not replayed" in response.content.decode()

    RejectedEvent.objects.update(replayed_at=timezone.now())
    assert client.get("/").context["counts"]["rejections_pending"] == 0

    # A store manager cannot be scoped to rejections that name no location.
    client.force_login(make_user(Role.STORE_MANAGER, locations=[estate["mine"]]))
    response = client.get("/")
    assert "rejections_pending" not in response.context["counts"]
    assert "Rejected events kept" not in response.content.decode()


@pytest.mark.django_db
def test_header_shows_user_role_scope_and_logout(client, estate):
    manager = make_user(Role.STORE_MANAGER, locations=[estate["mine"]])
    client.force_login(manager)
    body = client.get("/").content.decode()
    assert manager.username in body
    assert '<span class="user-scope">Scope: S100</span>' in body
    assert 'action="/logout/"' in body
    assert "hx-headers" in body and "X-CSRFToken" in body
    assert "/static/django_htmx/htmx-2.min.js" in body


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_nav_shows_only_items_whose_urls_exist(client, estate):
    client.force_login(make_user(Role.STORE_MANAGER, locations=[estate["mine"]]))
    response = client.get("/")
    labels = [item["label"] for item in response.context["nav_items"]]
    assert labels == ["Home", "My cases"]  # "My stores" has no url yet
    assert response.context["nav_items"][0]["active"] is True


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_nav_marks_the_active_item(client, estate):
    client.force_login(make_user(Role.REGIONAL_OPS, region=estate["mine"].region))
    response = client.get("/cases/")
    items = response.context["nav_items"]
    assert [(i["label"], i["active"]) for i in items] == [("Home", False), ("Cases", True)]
    assert '<a href="/cases/" class="active" aria-current="page">Cases</a>' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_nav_for_other_roles_hides_missing_screens(client):
    client.force_login(make_user(Role.FINANCE))
    # Finance lands on variances, which is not in this url conf: home stays.
    labels = [item["label"] for item in client.get("/").context["nav_items"]]
    assert labels == ["Home", "Cases"]  # variances and approvals are not in this url conf


@pytest.mark.django_db
@pytest.mark.parametrize("role, has_cases", [
    (Role.PLANNER, True), (Role.FINANCE, True), (Role.INTEGRATION_ADMIN, True),
    # the PMO and the executive read the queue their dashboards' case counts open
    (Role.PMO, True), (Role.EXECUTIVE, True),
])
def test_every_role_that_reads_cases_has_the_queue_in_its_nav(client, role, has_cases):
    client.force_login(make_user(role))
    # follow: most roles land on their own board
    labels = [item["label"] for item in client.get("/", follow=True).context["nav_items"]]
    assert ("Cases" in labels) is has_cases


@pytest.mark.django_db
def test_admin_link_only_for_staff_admins(client):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    response = client.get("/")
    assert "Admin" in [item["label"] for item in response.context["nav_items"]]
    assert 'href="/admin/"' in response.content.decode()

    client.force_login(make_user(Role.EXECUTIVE))
    assert "Admin" not in [item["label"] for item in client.get("/", follow=True).context["nav_items"]]


@pytest.mark.django_db
def test_logout_by_post(client):
    client.force_login(make_user(Role.PMO))
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response.url == "/login/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_logout_by_get_is_refused(client):
    client.force_login(make_user(Role.PMO))
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session


@pytest.mark.django_db
def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["cache"]) == ("ok", "ok", "ok")


def test_healthz_reports_database_failure(rf, monkeypatch):
    class BrokenConnection:
        def cursor(self):
            raise OperationalError("database is down")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    response = views.healthz(rf.get("/healthz"))
    assert response.status_code == 503
    body = json.loads(response.content)
    assert (body["status"], body["database"]) == ("error", "error")


def test_long_select_marks_the_choice_and_escapes_labels():
    widget = LongSelect(choices=[("", "All"), ("S1", "<b>Store</b> & co"), ("S2", "Two")])
    html = widget.render("location", "S2", attrs={"id": "id_location"})
    assert html.startswith('<select id="id_location" name="location">')
    assert '<option value="S1">&lt;b&gt;Store&lt;/b&gt; &amp; co</option>' in html
    assert '<option value="S2" selected>Two</option>' in html and html.count("selected") == 1


@pytest.mark.django_db
def test_the_skip_link_is_the_first_link_and_leads_to_the_main_content(client, estate):
    client.force_login(make_user(Role.STORE_MANAGER, locations=[estate["mine"]]))
    body = client.get("/").content.decode()
    first_link = body.index("<a ")
    assert body[first_link:].startswith('<a class="skip-link" href="#main">Skip to main content</a>')
    assert '<main id="main"' in body


def test_every_static_file_a_template_names_exists():
    """A page names only files static/ serves (the full plotly bundle is gone: a
    template still naming it would load nothing and draw no chart)."""
    named = set()
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        named |= set(re.findall(r"""\{% static ['"]([^'"]+)['"] %\}""", template.read_text()))
    assert "js/plotly-basic.min.js" in named and "js/figures.js" in named
    assert [name for name in sorted(named) if finders.find(name) is None] == []
