"""The store-day sales check (inventory.till_totals): the tills' totals per
store and business day beside the units the ledger booked from their lines
and the ERP's sales postings; on GET /api/v1/poslog/store-days; and
import_poslog, the command that posts POSLog files."""
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from controltower.models import Role
from inventory import adapters
from inventory.models import InventoryEvent
from inventory.till_totals import store_day_sales
from tests.conftest import on_postgres
from tests.controltower.factories import make_user, person_token

from .factories import (
    BarcodeFactory,
    InventoryEventFactory,
    LocationFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

FIXTURES = Path(__file__).parent / "fixtures" / "poslog"
DAY = date(2026, 11, 23)


@pytest.fixture
def till():
    return SourceSystemFactory(code="POSLOG-TILLS", kind="pos")


@pytest.fixture
def shop():
    store = LocationFactory(code="S001", timezone="Europe/Berlin")
    everyday = SKUFactory(code="SKU00001")
    UnitConversionFactory(sku=everyday, unit="CS12", factor=12)
    BarcodeFactory(sku=SKUFactory(code="MUG"), code="4006381333931")
    UnitConversionFactory(sku=SKUFactory(code="APPLES", base_unit="G"), unit="KGM", factor=1000)
    return store


@pytest.fixture
def posted(till, shop):
    adapters.get("poslog").receive(till, (FIXTURES / "sales-and-returns.xml").read_bytes())
    adapters.get("poslog").receive(till, (FIXTURES / "not-counted.xml").read_bytes())
    erp = SourceSystemFactory(code="ERP", kind="erp")
    # The ERP posted 500 units for the store's 23 November, and one for the day after.
    for units, at in ((500, datetime(2026, 11, 23, 18, 0, tzinfo=dt_timezone.utc)),
                      (1, datetime(2026, 11, 24, 12, 0, tzinfo=dt_timezone.utc))):
        InventoryEventFactory(source=erp, type="sales_posting", location=shop, quantity=units,
                              from_state=None, occurred_at=at)
    return till


def test_a_store_day_puts_the_tills_totals_beside_the_ledger_and_the_erp(posted, shop):
    [day] = store_day_sales(DAY, DAY)

    assert (day.source, day.store, day.location, day.business_day) == ("POSLOG-TILLS", "S001", "S001", DAY)
    assert (day.transactions, day.not_counted) == (2, 2)  # training mode and suspended are not counted
    assert (day.grand_amount, day.tax_amount) == (Decimal("67.34"), Decimal("7.88"))
    assert (day.sale_lines, day.return_lines) == (6, 2)
    # 2 mugs, 1 + 12 everyday, 500 g of apples, and the resumed 3 + 1.
    assert (day.sold_units, day.returned_units) == (519, 3)
    assert (day.erp_posted_units, day.gap_units) == (500, 19)


@pytest.mark.postgres
def test_the_erp_postings_count_on_the_stores_local_day(till, shop):
    if not on_postgres():
        pytest.skip("SQLite has no time zones: the embedded mode counts UTC days")
    adapters.get("poslog").receive(till, (FIXTURES / "sales-and-returns.xml").read_bytes())
    erp = SourceSystemFactory(code="ERP", kind="erp")
    # 23:30 UTC on the 23rd is half past midnight on the 24th in Berlin.
    for units, at in ((7, datetime(2026, 11, 22, 23, 30, tzinfo=dt_timezone.utc)),
                      (1, datetime(2026, 11, 23, 23, 30, tzinfo=dt_timezone.utc))):
        InventoryEventFactory(source=erp, type="sales_posting", location=shop, quantity=units,
                              from_state=None, occurred_at=at)

    [day] = store_day_sales(DAY, DAY)

    assert day.erp_posted_units == 7


def test_a_store_day_without_erp_postings_has_no_gap(till, shop):
    adapters.get("poslog").receive(till, (FIXTURES / "sales-and-returns.xml").read_bytes())

    [day] = store_day_sales(DAY, DAY)

    assert (day.erp_posted_units, day.gap_units) == (None, None)
    assert store_day_sales(date(2026, 11, 24), date(2026, 11, 30)) == []


def test_finance_reads_the_store_days_and_a_store_manager_only_its_own(api_client, posted, shop):
    finance = make_user(Role.FINANCE)
    elsewhere = make_user(Role.STORE_MANAGER, locations=[LocationFactory(code="S777")])

    rows = api_client.get("/api/v1/poslog/store-days?from=2026-11-23&to=2026-11-23",
                          HTTP_AUTHORIZATION=f"Token {person_token(finance)}")
    none = api_client.get("/api/v1/poslog/store-days?from=2026-11-23&to=2026-11-23",
                          HTTP_AUTHORIZATION=f"Token {person_token(elsewhere)}")
    bad = api_client.get("/api/v1/poslog/store-days?from=2026-11-23&to=2027-11-23",
                         HTTP_AUTHORIZATION=f"Token {person_token(finance)}")

    assert rows.status_code == 200
    assert rows.json() == [{
        "source": "POSLOG-TILLS", "store": "S001", "location": "S001", "business_day": "2026-11-23",
        "transactions": 2, "not_counted": 2, "grand_amount": "67.34", "tax_amount": "7.88",
        "sale_lines": 6, "return_lines": 2, "sold_units": 519, "returned_units": 3,
        "erp_posted_units": 500, "gap_units": 19,
    }]
    assert none.json() == []
    assert bad.status_code == 400
    assert bad.json()["errors"] == {"to": ["On or after 'from', at most 92 days on."]}


def test_import_poslog_posts_each_file_and_refuses_a_bad_one_in_one_line(till, shop, tmp_path, capsys):
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<POSLog")
    good = str(FIXTURES / "sales-and-returns.xml")

    with pytest.raises(CommandError, match="1 file"):
        call_command("import_poslog", "POSLOG-TILLS", good, str(bad), good)

    out, err = capsys.readouterr()
    assert "bad.xml: refused: The body is not well-formed XML" in err
    assert out.splitlines()[-1] == (
        "2 of 3 files posted as POSLOG-TILLS: 6 accepted, 6 duplicate, 0 conflict, 0 rejected, 4 ignored "
        "(ignored: 2 control transaction, 2 non-inventory line)."
    )
    assert InventoryEvent.objects.count() == 6


def test_import_poslog_names_an_unknown_source():
    with pytest.raises(CommandError, match="Unknown source system 'NOPE'"):
        call_command("import_poslog", "NOPE", "x.xml")


def test_the_store_day_sales_screen_shows_finance_the_week_the_tills_sent(client, posted, shop):
    client.force_login(make_user(Role.FINANCE))

    page = client.get("/integration/store-days/")

    assert page.status_code == 200
    html = " ".join(page.content.decode().split())
    assert 'name="from" value="2026-11-17"' in html and 'name="to" value="2026-11-23"' in html
    assert "1 store day from 17 November 2026 to 23 November 2026; 1 with a gap." in html
    assert '<span class="badge badge-fail">19</span>' in html


def test_the_store_day_sales_screen_names_a_bad_day_and_is_for_finance_and_integration(client, posted):
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    bad = client.get("/integration/store-days/?from=23.11.2026")
    client.force_login(make_user(Role.STORE_MANAGER))
    refused = client.get("/integration/store-days/")

    assert "from: a date as YYYY-MM-DD, not &#x27;23.11.2026&#x27;." in bad.content.decode()
    assert refused.status_code == 403
    assert "Store-day sales is for: finance, integration admin and admin." in refused.content.decode()


def test_the_store_day_sales_screen_says_when_no_till_has_sent_totals(client):
    client.force_login(make_user(Role.FINANCE))

    html = " ".join(client.get("/integration/store-days/").content.decode().split())

    assert "No till totals yet: a till sends them with its POSLog" in html


def test_import_poslog_sums_many_files_under_a_progress_bar(till, shop, capsys):
    files = [str(FIXTURES / "sales-and-returns.xml")] * 5

    call_command("import_poslog", "POSLOG-TILLS", *files)

    out = capsys.readouterr().out.splitlines()
    assert out == [  # no line per file: the bar (on a terminal) counts them
        "5 of 5 files posted as POSLOG-TILLS: 6 accepted, 24 duplicate, 0 conflict, 0 rejected, 10 ignored "
        "(ignored: 5 control transaction, 5 non-inventory line)."
    ]


def test_import_poslog_shows_a_files_first_refused_lines_and_counts_the_rest(till, shop, tmp_path, capsys):
    unknown = tmp_path / "unknown-items.xml"
    lines = "".join(
        f"<LineItem><SequenceNumber>{n}</SequenceNumber><Sale><ItemID>NOPE{n}</ItemID><Quantity>1</Quantity></Sale>"
        "</LineItem>" for n in range(1, 8))
    unknown.write_text(
        '<POSLog xmlns="http://www.nrf-arts.org/IXRetail/namespace/"><Transaction><RetailStoreID>S001</RetailStoreID>'
        "<WorkstationID>1</WorkstationID><SequenceNumber>1</SequenceNumber><BusinessDayDate>2026-11-23"
        "</BusinessDayDate><EndDateTime>2026-11-23T10:00:00+01:00</EndDateTime>"
        f"<RetailTransaction>{lines}</RetailTransaction></Transaction></POSLog>")

    call_command("import_poslog", "POSLOG-TILLS", str(unknown))

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 6
    assert err[0].startswith(f"{unknown}: item 1 S001/1/1/2026-11-23/1: rejected {{'sku': [\"Unknown")
    assert err[5] == (f"{unknown}: 2 more refused (of 7, by field: sku 7); kept for replay, listed on "
                      "integration health.")
