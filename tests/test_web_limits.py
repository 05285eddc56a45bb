"""Web and API limits (issue 12): the API docs work offline, CSV exports are
safe to open in a spreadsheet, request bodies and list pages are bounded,
imports fail in one clear line, logins and API calls are throttled, and the
production settings pass `manage.py check --deploy`."""
import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


# --- 1. Swagger UI from static/ ---------------------------------------------------


def test_api_docs_page_loads_swagger_ui_from_our_static_files(settings):
    # As in the embedded default (production runs collectstatic instead).
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()

    html = client.get("/api/docs/").content.decode()

    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert not [url for url in sources if "//" in url], "the docs page loads from another host"
    assert all(url.startswith("/static/") for url in sources), sources
    assert {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"} <= {
        url.rsplit("/", 1)[-1] for url in sources
    }
    for url in sources:
        response = client.get(url)
        assert response.status_code == 200, url
        assert b"".join(response.streaming_content if response.streaming else [response.content])


# --- 2. CSV exports neutralise formulas ----------------------------------------------


def test_neutraliser_quotes_formula_text_and_leaves_numbers():
    from decimal import Decimal

    from controltower.csvsafe import safe_row

    assert safe_row(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "plain", "", -5, Decimal("-2.50"), None]) == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", "plain", "", -5, Decimal("-2.50"), None,
    ]


def test_case_export_neutralises_formula_cells(client):
    import csv
    import io
    from decimal import Decimal

    from django.urls import reverse

    from controltower.models import Role
    from tests.factories import CaseFactory, LocationFactory, SKUFactory, make_user

    store = LocationFactory(code="S100")
    sku = SKUFactory(code="MILK1L", description='=HYPERLINK("http://evil.example/x","Milk")')
    CaseFactory(location=store, sku=sku, reference="@SUM(A1:A9)", summary="-2+3 available",
                quantity_at_risk=-5, value_at_risk=Decimal("-12.50"))
    client.force_login(make_user(Role.STORE_MANAGER, locations=[store]))

    response = client.get(reverse("case-export"))

    [row] = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert row["sku_description"] == '\'=HYPERLINK("http://evil.example/x","Milk")'
    assert row["reference"] == "'@SUM(A1:A9)"
    assert row["summary"] == "'-2+3 available"
    # Numbers stay numbers: a negative quantity is not turned into text.
    assert (row["quantity_at_risk"], row["value_at_risk"]) == ("-5", "-12.50")
    assert row["location"] == "S100"
