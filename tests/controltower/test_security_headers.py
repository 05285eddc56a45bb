"""Every response carries the Content-Security-Policy (scripts from our own
files only) and the Permissions-Policy: pages, the API, the login page and
error pages. No template holds inline script or inline event handlers."""
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import include, path

from controltower.models import Role
from tests.controltower.factories import make_user


def _boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", _boom), path("", include("controltower.urls"))]


def assert_policies(response):
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-eval" not in csp
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_pages_api_login_and_errors_carry_the_policies(client, api_client):
    assert_policies(client.get("/login/"))
    assert_policies(client.get("/healthz"))
    assert_policies(api_client.get("/api/v1/skus"))  # 401/403: not signed in
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    for url in ("/", "/cases/", "/integration/", "/api/v1/cases", "/api/docs/", "/api/docs/?script="):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert_policies(response)
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_policies(missing)


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_server_error_page_carries_the_policies():
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert_policies(response)


def test_no_template_has_inline_script_or_event_handlers():
    """What the policy would block: <script> without src, on*= handlers, hx-on (eval)."""
    found = []
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        text = template.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\bhx-on"):
            found += [f"{template.name}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []
