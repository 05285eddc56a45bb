"""Finance's Store-day sales screen in Chromium: a till's POSLog posted,
the ERP's sales postings beside it, a gap shown; from the menu; axe-core's
WCAG 2 A/AA rules at desktop, tablet and phone widths; screenshots in
var/screenshots/."""
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import Path

import pytest

from controltower.models import Role
from inventory import adapters
from tests.controltower.factories import make_user
from tests.inventory.factories import (
    BarcodeFactory,
    ExternalIdFactory,
    InventoryEventFactory,
    LocationFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

from .conftest import DESKTOP, PHONE, TABLET
from .test_rollout import assert_no_axe_findings

FIXTURES = Path(__file__).parent.parent / "inventory" / "fixtures" / "poslog"


@pytest.mark.django_db(transaction=True)
def test_finance_reads_the_tills_totals_beside_the_erps_postings(page, live_server, log_in, screenshot):
    store = LocationFactory(code="S001", name="Berlin Mitte", timezone="Europe/Berlin")
    everyday = SKUFactory(code="SKU00001")
    UnitConversionFactory(sku=everyday, unit="CS12", factor=12)
    BarcodeFactory(sku=SKUFactory(code="MUG"), code="4006381333931")
    UnitConversionFactory(sku=SKUFactory(code="APPLES", base_unit="G"), unit="KGM", factor=1000)
    tills = SourceSystemFactory(code="POS-EU", name="Store tills")
    ExternalIdFactory(source=tills, external_id="0009", location=LocationFactory(code="S009", name="Hamburg"))
    poslog = adapters.get("poslog")
    poslog.receive(tills, (FIXTURES / "sales-and-returns.xml").read_bytes())
    poslog.receive(tills, (FIXTURES / "not-counted.xml").read_bytes())
    poslog.receive(tills, (FIXTURES / "sales-and-returns.xml").read_bytes().replace(b"S001", b"0009"))
    erp = SourceSystemFactory(code="ERP", kind="erp")
    InventoryEventFactory(source=erp, type="sales_posting", location=store, quantity=500, from_state=None,
                          occurred_at=datetime(2026, 11, 23, 18, tzinfo=dt_timezone.utc))

    log_in(make_user(Role.FINANCE, username="fin"))
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Store-day sales").first.click()
    page.get_by_role("heading", name="Store-day sales").wait_for()
    table = page.get_by_role("region", name="Store days")
    assert "2 store days from 17 November 2026 to 23 November 2026; 1 with a gap." in " ".join(
        page.locator("main").inner_text().split())
    berlin = table.locator("tr", has_text="S001")
    assert "67.34" in berlin.inner_text() and "19" in berlin.locator(".badge-fail").inner_text()
    assert "till store 0009" in table.locator("tr", has_text="S009").inner_text()
    for name, size in (("desktop", DESKTOP), ("tablet", TABLET), ("phone", PHONE)):
        page.set_viewport_size(size)
        assert_no_axe_findings(page, f"store-day sales ({name})")
        screenshot(page, f"store-day-sales-{name}")
