"""One declaration per screen (controltower.navigation): every role x every
screen. The menu lists exactly the screens a role may open, each opens (200),
every other screen answers 403 saying who it is for, and home sends each
role to its main screen. A change to who sees what shows here as a changed row."""
import pytest
from django.urls import reverse

from controltower import navigation
from controltower.models import Role
from tests.controltower.factories import UserFactory, make_user

pytestmark = pytest.mark.django_db

SM, RO, PL, FI, IA, PMO, EX, AD = (Role.STORE_MANAGER, Role.REGIONAL_OPS, Role.PLANNER, Role.FINANCE,
                                   Role.INTEGRATION_ADMIN, Role.PMO, Role.EXECUTIVE, Role.ADMIN)
# screen: the roles that may open it.
SCREENS = {
    "home": {SM, RO, PL, FI, IA, PMO, EX, AD},
    "cases": {SM, RO, PL, FI, IA, PMO, EX, AD},
    "stores": {SM, RO, PL, FI, IA, AD},
    "region-board": {RO, AD},
    "variances": {PL, FI, AD},
    "approvals": {FI, AD},
    "integration-health": {IA, PL, AD},
    "store-day-sales": {FI, IA, AD},
    "journeys": {SM, RO, PL, FI, PMO, EX, AD},
    "rollout": {RO, FI, IA, PMO, EX, AD},
    "hypercare": {PMO, EX, AD},
    "alerts": {SM, RO, PL, FI, IA, PMO, EX, AD},
    "audit": {AD},
}
# role: the screen signing in lands on.
LANDINGS = {SM: "home", RO: "region-board", PL: "variances", FI: "approvals", IA: "integration-health",
            PMO: "rollout", EX: "hypercare", AD: "home"}


def test_the_table_names_every_registered_screen():
    assert set(SCREENS) == {entry.url_name for entry in navigation._entries.values()}


@pytest.mark.parametrize("role", list(Role))
def test_a_role_opens_exactly_its_screens_and_its_menu_lists_them(client, role):
    client.force_login(make_user(role))
    landed = client.get(reverse("home"))
    assert landed.status_code == 302 if LANDINGS[role] != "home" else 200
    assert landed.get("Location", reverse("home")) == reverse(LANDINGS[role])
    for url_name, roles in SCREENS.items():
        response = client.get(reverse(url_name))
        if role in roles:
            assert response.status_code in (200, 302 if url_name == "home" else 200), (role, url_name)
        else:
            assert response.status_code == 403, (role, url_name)
            assert "is for:" in response.content.decode()
    menu = {item["url"] for item in client.get(reverse(LANDINGS[role])).context["nav_items"]}
    assert menu == {reverse(url_name) for url_name, roles in SCREENS.items() if role in roles}


def test_the_screens_exports_answer_as_their_screen(client):
    """A screen's other views (CSV exports, fragments) are guarded by the same declaration."""
    client.force_login(make_user(EX))
    for url_name in ("variances-counts-csv", "region-stores-csv", "region-escalated-csv"):
        assert client.get(reverse(url_name)).status_code == 403, url_name
    client.force_login(make_user(IA))
    assert client.get(reverse("journeys-csv")).status_code == 403
    assert client.get(reverse("case-counts")).status_code == 200


def test_a_person_without_a_role_sees_home_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("home")).status_code == 200
    for url_name in SCREENS.keys() - {"home"}:
        assert client.get(reverse(url_name)).status_code == 403, url_name
    assert [item["label"] for item in client.get(reverse("home")).context["nav_items"]] == ["Home"]


def test_signed_out_every_screen_asks_to_sign_in(client):
    for url_name in SCREENS:
        response = client.get(reverse(url_name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url_name
