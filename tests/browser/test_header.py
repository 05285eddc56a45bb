"""The header with a full navigation stays usable at desktop and tablet width."""
import pytest
from django.shortcuts import render
from django.urls import path

from controltower.models import Role
from controltower.navigation import entries_for
from tests.controltower.factories import UserFactory
from tests.controltower.test_web_shell import SHELL_URLS
from tests.inventory.factories import LocationFactory

from .conftest import TABLET


def _screen(request):
    return render(request, "base.html")


# Every screen of the navigation, as a bare page, so the header shows all links.
urlpatterns = SHELL_URLS + [
    path(f"{entry.url_name}/", _screen, name=entry.url_name) for entry in entries_for(Role.ADMIN)
    if entry.url_name != "home"
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls(__name__)
def test_full_navigation_wraps_at_tablet_width(page, live_server, log_in, screenshot):
    for code in ("S100", "S200", "D900"):
        LocationFactory(code=code)
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    log_in(admin)

    page.goto(f"{live_server.url}/rollout/")
    links = page.locator(".site-nav a")
    assert links.count() == 14  # Home, twelve screens (Audit, Alerts), Admin
    assert page.locator(".site-nav a.active").inner_text() == "Rollout"
    screenshot(page, "header-admin-1280")

    page.set_viewport_size(TABLET)
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
    for index in range(links.count()):
        assert links.nth(index).is_visible()
    screenshot(page, "header-admin-768")

    page.goto(f"{live_server.url}/")
    screenshot(page, "home-admin-768")

