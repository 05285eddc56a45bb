"""Web and API limits (issue 12): the API docs work offline, CSV exports are
safe to open in a spreadsheet, request bodies and list pages are bounded,
imports fail in one clear line, logins and API calls are throttled, and the
production settings pass `manage.py check --deploy`."""
import re
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026


# --- 1. Swagger UI from static/ ---------------------------------------------------


def test_api_docs_page_loads_swagger_ui_from_our_static_files(settings):
    # As in the embedded default (production runs collectstatic instead).
    settings.WHITENOISE_USE_FINDERS = True
    client = Client()

    html = client.get("/api/docs/").content.decode()

    sources = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert sources, html
    assert not [url for url in sources if "//" in url], "the docs page loads from another host"
    # Swagger UI's files from static/; its init script from the docs view itself (no inline script).
    assert all(url.startswith("/static/") or url == "/api/docs/?script=" for url in sources), sources
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
    from tests.controltower.factories import make_user
    from tests.exceptions.factories import CaseFactory
    from tests.inventory.factories import LocationFactory, SKUFactory

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


# --- 3. Request bodies over the documented maximum: 413 before parsing ------------------


def _events_body(count, location="S100", sku="SKU1"):
    events = [
        {"transaction_id": f"T{n}", "type": "receipt", "location": location, "sku": sku, "quantity": 1,
         "occurred_at": "2026-11-23T10:15:00+01:00"}
        for n in range(count)
    ]
    return {"events": events}


@pytest.fixture
def pos():
    from tests.controltower.factories import source_token
    from tests.inventory.factories import (
        LocationFactory,
        SKUFactory,
        SourceSystemFactory,
    )

    LocationFactory(code="S100")
    SKUFactory(code="SKU1")
    source = SourceSystemFactory(code="POS-1")
    return source_token(source)


def test_ingest_body_over_the_cap_is_refused_with_413_and_nothing_is_stored(api_client, settings, pos):
    import orjson

    from inventory.models import InventoryEvent, RejectedEvent

    settings.API_MAX_BODY_BYTES = 2000
    body = orjson.dumps(_events_body(40))
    assert len(body) > 2000

    response = api_client.post("/api/v1/events", body, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {pos}")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "2000 bytes" in response.json()["detail"]
    assert not InventoryEvent.objects.exists() and not RejectedEvent.objects.exists()

    # Under the cap the same endpoint takes the batch.
    small = orjson.dumps(_events_body(3))
    response = api_client.post("/api/v1/events", small, content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {pos}")
    assert response.status_code == 200 and response.json()["counts"]["accepted"] == 3


def test_every_api_post_is_capped_even_without_a_token(api_client, settings):
    settings.API_MAX_BODY_BYTES = 100
    body = b'{"lines": [' + b'{"x": 1},' * 50 + b'{"x": 1}]}'
    for url in ("/api/v1/snapshots", "/api/v1/po-lines", "/api/v1/skus", "/api/v1/locations",
                "/api/v1/cases/1/comment"):
        response = api_client.post(url, body, content_type="application/json")
        assert response.status_code == 413, url
        assert "detail" in response.json()


def test_a_body_read_without_a_declared_length_stops_at_the_cap(settings):
    import io

    from controltower.api import JSONParser
    from controltower.limits import BodyTooLarge

    settings.API_MAX_BODY_BYTES = 1000
    with pytest.raises(BodyTooLarge) as raised:
        JSONParser().parse(io.BytesIO(b"[" + b"1," * 2000 + b"1]"))
    assert raised.value.status_code == 413
    assert JSONParser().parse(io.BytesIO(b"[" + b"1," * 100 + b"1]")) == [1] * 101


def test_a_snapshot_beyond_djangos_form_limit_but_within_the_cap_is_taken(api_client, settings):
    """DRF reads its own JSONParser through request.body, capped at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB): a 100,000-line snapshot could not be sent."""
    from inventory.models import SourceSystem
    from tests.controltower.factories import source_token
    from tests.inventory.factories import (
        LocationFactory,
        SKUFactory,
        SourceSystemFactory,
    )

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    LocationFactory(code="D900")
    SKUFactory(code="SKU1")
    token = source_token(SourceSystemFactory(code="WMS", kind=SourceSystem.Kind.WMS))
    lines = [{"location": "D900", "sku": "SKU1", "quantity": 5, "state": "available"}] * 30
    body = {"as_of": "2026-11-23T10:15:00+01:00", "lines": lines}

    import orjson

    assert len(orjson.dumps(body)) > 1000

    response = api_client.post("/api/v1/snapshots", body, format="json", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200, response.content
    assert response.json()["counts"]


def test_a_form_body_over_djangos_limit_on_the_api_is_413_json(api_client, settings):
    from controltower.models import Role
    from tests.controltower.factories import make_user
    from tests.exceptions.factories import CaseFactory
    from tests.inventory.factories import LocationFactory

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    store = LocationFactory(code="S100")
    case = CaseFactory(location=store)
    api_client.force_authenticate(make_user(Role.STORE_MANAGER, locations=[store]))

    response = api_client.post(f"/api/v1/cases/{case.pk}/comment", {"body": "x" * 5000})

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]
    assert not case.comments.exists()


def test_web_form_posts_keep_working(client):
    from django.urls import reverse

    from controltower.models import Role
    from tests.controltower.factories import make_user
    from tests.exceptions.factories import CaseFactory
    from tests.inventory.factories import LocationFactory

    store = LocationFactory(code="S100")
    case = CaseFactory(location=store)
    client.force_login(make_user(Role.STORE_MANAGER, locations=[store]))

    response = client.post(reverse("case-comment", args=[case.pk]), {"body": "Counted again: 4 on the shelf"})

    assert response.status_code in (200, 302, 303)  # a plain post that worked goes back to the case page
    assert case.comments.get().body == "Counted again: 4 on the shelf"


# --- 4. List endpoints cap ?limit= and bound ?offset= ------------------------------------

LIST_ENDPOINTS = ["/api/v1/events", "/api/v1/positions", "/api/v1/locations", "/api/v1/skus",
                  "/api/v1/rejections", "/api/v1/cases"]


@pytest.fixture
def three_of_everything():
    """Three rows behind every list endpoint, seen by a planner (estate-wide)."""
    from controltower.models import Role
    from inventory.ledger import ingest_events
    from tests.controltower.factories import make_user
    from tests.exceptions.factories import CaseFactory
    from tests.inventory.factories import (
        LocationFactory,
        SKUFactory,
        SourceSystemFactory,
    )

    stores = [LocationFactory(code=f"S10{n}") for n in range(3)]
    skus = [SKUFactory(code=f"SKU{n}") for n in range(3)]
    good = [
        {"transaction_id": f"T{n}", "type": "receipt", "location": store.code, "sku": sku.code, "quantity": 5,
         "occurred_at": "2026-11-23T10:15:00+01:00"}
        for n, (store, sku) in enumerate(zip(stores, skus))
    ]
    bad = [{**event, "transaction_id": f"B{n}", "sku": "NO-SUCH-SKU"} for n, event in enumerate(good)]
    report = ingest_events(SourceSystemFactory(code="POS-1"), good + bad).as_dict()
    assert report["counts"]["accepted"] == 3 and report["counts"]["rejected"] == 3
    for store, sku in zip(stores, skus):
        CaseFactory(location=store, sku=sku)
    return make_user(Role.PLANNER)


@pytest.mark.parametrize("url", LIST_ENDPOINTS)
def test_list_endpoint_caps_limit_and_refuses_bad_paging(api_client, settings, three_of_everything, url):
    settings.API_MAX_PAGE_SIZE = 2
    api_client.force_authenticate(three_of_everything)

    assert len(api_client.get(url).json()["results"]) == 3  # the default page (100) holds all three
    for limit in ("100000000", "9" * 40):
        body = api_client.get(url, {"limit": limit}).json()
        assert body["count"] == 3 and len(body["results"]) == 2, limit
        assert "limit=2" in body["next"]
    assert len(api_client.get(url, {"limit": 1, "offset": 2}).json()["results"]) == 1
    assert api_client.get(url, {"offset": 10**9}).json()["results"] == []

    for params in ({"limit": "abc"}, {"limit": "-1"}, {"limit": "0"}, {"limit": "١٢"}, {"limit": " 2 "},
                   {"limit": "1_0"}, {"limit": "1.5"}, {"offset": "-1"}, {"offset": "x"}, {"offset": "١"},
                   {"offset": str(10**9 + 1)}, {"offset": "9" * 40}):
        response = api_client.get(url, params)
        assert response.status_code == 400, (params, response.status_code)
        [name] = params
        assert name in response.json()["errors"], response.json()


def test_list_page_size_is_capped_at_1000_by_default(api_client, three_of_everything):
    from rest_framework.settings import api_settings

    from controltower.pagination import LimitOffsetPagination

    assert api_settings.DEFAULT_PAGINATION_CLASS is LimitOffsetPagination
    assert LimitOffsetPagination().max_limit == 1000
    api_client.force_authenticate(three_of_everything)
    body = api_client.get("/api/v1/locations", {"limit": 10**8}).json()
    assert "limit=1000" not in (body["next"] or "")  # three rows: one page, no next link
    assert len(body["results"]) == 3


# --- 5. Master data numbers are plain ASCII digits ------------------------------------------------


def _sku_row(code, **overrides):
    return {"code": code, "description": f"Item {code}", "category": "Dairy", "unit_cost": "1.25",
            "base_unit": "EA", "barcodes": "", "conversions": "", **overrides}


@pytest.mark.parametrize("conversions", [
    "CS12=١٢",        # Arabic-Indic digits: int() reads 12
    "CS12=１２",       # full-width digits
    "CS12=²",          # a superscript: isdigit() is true, int() raises
    "CS12=1_2",
    "CS12=+12",
    "CS12=0",
    "CS12=2147483648",  # beyond UnitConversion.factor's 32-bit column
    "CS12=" + "9" * 5000,  # beyond int()'s digit limit
])
def test_conversion_factor_is_ascii_digits_from_1_to_the_column_maximum(conversions):
    from inventory.masterdata import import_skus
    from inventory.models import SKU

    report = import_skus([_sku_row("MILK1", conversions=conversions)])

    [refused] = report.refused
    assert list(refused.errors) == ["conversions"], refused.errors
    message = " ".join(refused.errors["conversions"])
    assert "CS12" in message and "whole number" in message and len(message) < 200
    assert not SKU.objects.exists()


def test_conversion_factors_within_the_bounds_load():
    from inventory.masterdata import import_skus
    from inventory.models import SKU

    report = import_skus([_sku_row("MILK1", conversions="CS12=12; PL=2147483647")])

    assert not report.refused
    assert dict(SKU.objects.get().conversions.values_list("unit", "factor")) == {"CS12": 12, "PL": 2147483647}


@pytest.mark.parametrize("unit_cost", ["١٫٢٥", "١٢", "1_25", "１.25", "1.2.5"])
def test_unit_cost_is_a_plain_number(unit_cost):
    from inventory.masterdata import import_skus

    [refused] = import_skus([_sku_row("MILK1", unit_cost=unit_cost)]).refused
    assert list(refused.errors) == ["unit_cost"], refused.errors
    assert "not a number" in refused.errors["unit_cost"][0]


def test_unit_cost_as_a_json_number_or_plain_text_loads():
    from decimal import Decimal

    from inventory.masterdata import import_skus
    from inventory.models import SKU

    report = import_skus([_sku_row("A", unit_cost=0.89), _sku_row("B", unit_cost="12"), _sku_row("C", unit_cost=3)])

    assert not report.refused
    assert dict(SKU.objects.values_list("code", "unit_cost")) == {
        "A": Decimal("0.89"), "B": Decimal("12"), "C": Decimal("3")}


@pytest.mark.parametrize("date", ["٢٠٢٦-٠١-٠٥", "2026-1-5", "2026-01-05T00:00", "+2026-01-05"])
def test_go_live_date_is_yyyy_mm_dd_in_ascii_digits(date):
    from inventory.masterdata import import_locations

    row = {"code": "S1", "name": "Store", "kind": "store", "region": "NORTH", "timezone": "Europe/Berlin",
           "go_live_date": date}
    [refused] = import_locations([row]).refused
    assert list(refused.errors) == ["go_live_date"], refused.errors


# --- 6. CSV import commands fail in one clear line --------------------------------------------

IMPORTS = {
    # command: (extra arguments, a good header, a good row)
    "import_locations": ([], "code,name,kind,region,timezone", "S1,Straße 1,store,NORTH,Europe/Berlin"),
    "import_skus": ([], "code,description,category,unit_cost,base_unit,barcodes,conversions",
                    "MILK1,Käse 200 g,Dairy,1.25,EA,,"),
    "import_po_lines": ([], "po_number,line,location,sku,quantity,expected_at", "PO1,1,S1,MILK1,24,"),
    "import_snapshot": (["ERP", "--as-of", "2026-11-23T10:00:00+01:00"], "location,sku,state,quantity",
                        "S1,MILK1,available,5"),
}


def _call(command, path):
    from django.core.management import call_command

    extra = IMPORTS[command][0]
    arguments = [extra[0], str(path), *extra[1:]] if extra else [str(path)]
    call_command(command, *arguments)


@pytest.fixture
def erp():
    from inventory.models import SourceSystem
    from tests.inventory.factories import SourceSystemFactory

    return SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)


@pytest.mark.parametrize("command", IMPORTS)
def test_import_command_names_a_missing_file(command, tmp_path, erp):
    from django.core.management import CommandError

    path = tmp_path / "nope.csv"
    with pytest.raises(CommandError) as failure:
        _call(command, path)
    assert str(failure.value) == f"{path}: no such file."


@pytest.mark.parametrize("command", IMPORTS)
def test_import_command_names_the_line_of_a_latin1_byte(command, tmp_path, erp):
    from django.core.management import CommandError

    _, header, row = IMPORTS[command]
    path = tmp_path / "latin1.csv"
    # Saved by a tool in Latin-1 (Windows-1252): Ü is the single byte 0xdc.
    path.write_bytes(f"{header}\nÜ{row}\n".encode("latin-1"))

    with pytest.raises(CommandError) as failure:
        _call(command, path)
    assert str(failure.value) == (
        f"{path}: line 2, column 1: byte 0xdc is not UTF-8; save the file as UTF-8 (in Excel: CSV UTF-8)."
    )


@pytest.mark.parametrize("command", IMPORTS)
def test_import_command_refuses_a_utf16_file(command, tmp_path, erp):
    from django.core.management import CommandError

    _, header, row = IMPORTS[command]
    path = tmp_path / "excel-unicode.csv"
    path.write_text(f"{header}\n{row}\n", encoding="utf-16")  # with its BOM, as Excel writes it

    with pytest.raises(CommandError) as failure:
        _call(command, path)
    assert str(failure.value) == f"{path}: is UTF-16 text; save it as UTF-8 (in Excel: CSV UTF-8)."


@pytest.mark.parametrize("command", IMPORTS)
def test_import_command_names_a_missing_column(command, tmp_path, erp):
    from django.core.management import CommandError

    _, header, row = IMPORTS[command]
    columns, values = header.split(","), row.split(",")
    dropped = columns.index("location") if "location" in columns else columns.index("code")
    del columns[dropped], values[dropped]
    path = tmp_path / "short.csv"
    path.write_text(",".join(columns) + "\n" + ",".join(values) + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as failure:
        _call(command, path)
    message = str(failure.value)
    assert message.startswith(f"{path}: Missing column(s): {header.split(',')[dropped]} (the header has "), message


def test_import_snapshot_needs_a_sku_or_barcode_column(tmp_path, erp):
    from django.core.management import CommandError

    path = tmp_path / "snapshot.csv"
    path.write_text("location,quantity\nS1,5\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"Missing column\(s\): sku or barcode"):
        _call("import_snapshot", path)


@pytest.mark.parametrize("command", IMPORTS)
def test_import_command_reads_utf8_with_and_without_a_bom(command, tmp_path, erp, capsys):
    from inventory.models import SKU, Location, Region

    Region.objects.get_or_create(code="NORTH", defaults={"name": "North"})
    if command != "import_locations":
        Location.objects.create(code="S1", name="Store", kind="store", region=Region.objects.get(code="NORTH"),
                                timezone="Europe/Berlin")
    if command not in ("import_locations", "import_skus"):
        SKU.objects.create(code="MILK1", description="Milk", category="Dairy", unit_cost=1, base_unit="EA")
    _, header, row = IMPORTS[command]
    for name, encoding in (("plain.csv", "utf-8"), ("excel.csv", "utf-8-sig")):
        path = tmp_path / name
        path.write_text(f"{header}\n{row}\n", encoding=encoding)
        _call(command, path)  # no CommandError
    if command == "import_locations":
        assert Location.objects.get(code="S1").name == "Straße 1"
    if command == "import_skus":
        assert SKU.objects.get(code="MILK1").description == "Käse 200 g"


# --- 7. Login attempts are throttled (django-axes) ------------------------------------------------

PASSWORD = "pw-for-tests"


def _log_in(client, username, password, ip="10.1.2.3"):
    from django.urls import reverse

    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.fixture
def anna():
    from controltower.models import Role
    from tests.controltower.factories import make_user
    from tests.inventory.factories import LocationFactory

    return make_user(Role.STORE_MANAGER, locations=[LocationFactory(code="S100")], username="anna")


def test_after_the_failure_limit_even_the_right_password_is_refused(client, settings, anna):
    assert settings.AXES_FAILURE_LIMIT == 10
    for _ in range(9):
        response = _log_in(client, "anna", "wrong")
        assert response.status_code == 200 and "correct username and password" in response.content.decode()
    assert _log_in(client, "anna", "wrong").status_code == 429  # the 10th failure locks

    response = _log_in(client, "anna", PASSWORD)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed log-ins" in page and "After 10 failed attempts" in page and "15 minutes" in page
    assert 'class="site-header"' in page  # the site's layout


def test_the_lockout_is_per_username_and_address(client, anna):
    from tests.controltower.factories import UserFactory

    UserFactory(username="ben")
    for _ in range(10):
        _log_in(client, "anna", "wrong", ip="10.1.2.3")
    assert _log_in(client, "anna", PASSWORD, ip="10.1.2.3").status_code == 429

    # The store's other till (same address) logs in as someone else; anna from elsewhere too.
    assert _log_in(client, "ben", PASSWORD, ip="10.1.2.3").status_code == 302
    client.logout()
    assert _log_in(client, "anna", PASSWORD, ip="10.9.9.9").status_code == 302


def test_a_successful_login_resets_the_count(client, anna):
    for _ in range(9):
        _log_in(client, "anna", "wrong")
    assert _log_in(client, "anna", PASSWORD).status_code == 302
    client.logout()

    for _ in range(9):
        _log_in(client, "anna", "wrong")
    assert _log_in(client, "anna", PASSWORD).status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, anna):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(10):
        _log_in(client, "anna", "wrong")
    assert _log_in(client, "anna", PASSWORD).status_code == 429

    AccessAttempt.objects.update(attempt_time=F_minus(timedelta(minutes=16)))
    assert _log_in(client, "anna", PASSWORD).status_code == 302


def F_minus(delta):
    from django.db.models import F

    return F("attempt_time") - delta


def test_client_login_with_a_request_works_with_axes(client, anna):
    """Axes needs the request in authenticate(); Django's Client.login passes
    its credentials on, so tests that use it give a blank HttpRequest (as the
    axes docs say). force_login needs nothing."""
    from django.http import HttpRequest

    assert client.login(request=HttpRequest(), username="anna", password=PASSWORD)
    assert client.get("/").status_code == 200


# --- 8. API calls are throttled per token -------------------------------------------------------

# Counts are kept per minute: 5 s into one, a test's calls never straddle two.
IN_A_MINUTE = datetime(2026, 12, 6, 10, 0, 5, tzinfo=dt_timezone.utc)


def test_a_source_token_beyond_its_rate_gets_429_with_retry_after(api_client, settings, time_machine, pos):
    time_machine.move_to(IN_A_MINUTE, tick=True)  # every call in one throttle window (a minute)
    from tests.controltower.factories import source_token
    from tests.inventory.factories import SourceSystemFactory

    settings.API_THROTTLE_RATES = {"source": "3/min", "person": "100000/min"}
    other = source_token(SourceSystemFactory(code="POS-2"))
    body = _events_body(1)

    for _ in range(3):
        response = api_client.post("/api/v1/events", body, format="json", HTTP_AUTHORIZATION=f"Token {pos}")
        assert response.status_code == 200
    response = api_client.post("/api/v1/events", body, format="json", HTTP_AUTHORIZATION=f"Token {pos}")

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert "throttled" in response.json()["detail"]
    # Reads count too, in the same bucket.
    assert api_client.get("/api/v1/skus", HTTP_AUTHORIZATION=f"Token {pos}").status_code == 429
    # Another source's token has its own bucket.
    assert api_client.get("/api/v1/skus", HTTP_AUTHORIZATION=f"Token {other}").status_code == 200


def test_person_tokens_have_a_bucket_each(api_client, settings, time_machine):
    time_machine.move_to(IN_A_MINUTE, tick=True)  # every call in one throttle window (a minute)
    from controltower.models import Role
    from tests.controltower.factories import make_user, person_token

    settings.API_THROTTLE_RATES = {"source": "100000/min", "person": "2/min"}
    planner = make_user(Role.PLANNER)
    first, second = person_token(planner), person_token(planner)

    statuses = [api_client.get("/api/v1/locations", HTTP_AUTHORIZATION=f"Token {first}").status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert api_client.get("/api/v1/locations", HTTP_AUTHORIZATION=f"Token {second}").status_code == 200


def test_a_session_user_has_a_bucket(client, settings, time_machine):
    time_machine.move_to(IN_A_MINUTE, tick=True)  # every call in one throttle window (a minute)
    from controltower.models import Role
    from tests.controltower.factories import make_user

    # A fresh local cache: on PostgreSQL runs the default cache is the Redis
    # that both test processes share, and user ids repeat between them.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "session-throttle-test"}}
    settings.API_THROTTLE_RATES = {"source": "100000/min", "person": "2/min"}
    client.force_login(make_user(Role.PLANNER, username="pat"))
    other = Client()
    other.force_login(make_user(Role.PLANNER, username="quinn"))

    assert [client.get("/api/v1/cases").status_code for _ in range(3)] == [200, 200, 429]
    assert other.get("/api/v1/cases").status_code == 200
    assert client.get("/cases/").status_code == 200  # the web screens are not API calls


def test_the_production_cache_is_redis_from_the_broker_url():
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'], settings.CACHES['default'].get('LOCATION'))"
    env = {**os.environ, "DATABASE_URL": "postgres://u:p@db:5432/ct", "CELERY_BROKER_URL": "redis://redis:6379/0",
           "SECRET_KEY": LONG_KEY, "DJANGO_SETTINGS_MODULE": "controltower.settings"}
    env.pop("CACHE_URL", None)
    out = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                         capture_output=True, text=True, cwd=django_settings.BASE_DIR, check=True).stdout
    assert out.split()[-2:] == ["django.core.cache.backends.redis.RedisCache", "redis://redis:6379/0"]


# --- 9. Production passes `manage.py check --deploy`; a weak SECRET_KEY is refused ----------------

LONG_KEY = "tests-only-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"


def _manage(*args, **env):
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    # Only what the test gives: not this run's database, key or https switch,
    # nor the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE (a deploy check error).
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("SECURE_", "DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG",
                                  "ALLOWED_HOSTS", "CACHE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"))}
    return subprocess.run([sys.executable, "manage.py", *args], env={**clean, **env}, capture_output=True,
                          text=True, cwd=django_settings.BASE_DIR, timeout=120)


PRODUCTION = {"DATABASE_URL": "postgres://tower:secret@db.example.com:5432/controltower",
              "CELERY_BROKER_URL": "redis://redis.example.com:6379/0", "SECRET_KEY": LONG_KEY,
              "ALLOWED_HOSTS": "tower.example.com", "CSRF_TRUSTED_ORIGINS": "https://tower.example.com"}


def test_production_settings_pass_check_deploy():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_production_behind_a_plain_http_proxy_passes_check_deploy_too():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", SECURE_SSL_REDIRECT="false",
                   SECURE_PROXY_SSL_HEADER="true", **PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr


def test_production_redirects_to_https_and_sends_hsts():
    code = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
            "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SECURE_CONTENT_TYPE_NOSNIFF, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))")
    done = _manage("shell", "--no-imports", "-c", code, **PRODUCTION)
    assert done.stdout.split() == ["True", "31536000", "True", "True", "True", "True", "None"], done.stderr
    done = _manage("shell", "--no-imports", "-c", code, SECURE_SSL_REDIRECT="false", SECURE_PROXY_SSL_HEADER="1", **PRODUCTION)
    assert done.stdout.split()[0] == "False" and "HTTP_X_FORWARDED_PROTO" in done.stdout


@pytest.mark.parametrize("key", ["short", "ci-secret", "a" * 64, "django-insecure-" + "x1y2z3w4v5" * 5])
def test_a_weak_secret_key_is_refused_outside_the_embedded_default(key):
    done = _manage("check", **{**PRODUCTION, "SECRET_KEY": key})

    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("django.core.exceptions.ImproperlyConfigured: SECRET_KEY is too weak"), done.stderr
    assert "at least 50 characters" in last


def test_the_embedded_default_stays_on_plain_http(client, settings):
    """No DATABASE_URL, no CELERY_BROKER_URL: http://127.0.0.1:8000 is not redirected."""
    if not settings.EMBEDDED:
        pytest.skip("this run is in production mode (DATABASE_URL set)")
    assert not settings.SECURE_SSL_REDIRECT and not settings.SECURE_HSTS_SECONDS
    response = client.get("/login/")
    assert response.status_code == 200 and "Strict-Transport-Security" not in response
    done = _manage("shell", "--no-imports", "-c", "from django.conf import settings as s; print(s.EMBEDDED, s.SECURE_SSL_REDIRECT)")
    assert done.stdout.split() == ["True", "False"], done.stderr
