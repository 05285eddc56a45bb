"""Nothing accepted can break a page (issue 12).

The largest values the tower accepts (inventory.fields: MAX_QUANTITY a
line, MAX_UNIT_COST a unit, MAX_VALUE a money column) go in through every
path a source or a person has: events, snapshots, PO lines and SKUs over the
API, corrective adjustments through the case actions (web and API). Then
every reconciliation runs, and every page and API list that shows what came
of it answers 200 for each role that sees it, with the large numbers on it.
One value just above each bound is refused with an error naming its field,
and nothing of it is stored.
"""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from exceptions.findings import CaseKind
from exceptions.models import Case, CorrectiveAdjustment
from exceptions.detectors import DETECTORS
from exceptions.reconciliation import run_reconciliation
from inventory.fields import MAX_QUANTITY, MAX_SMALL_INTEGER, MAX_UNIT_COST, MAX_VALUE
from inventory.models import (
    SKU,
    STATES,
    InventoryEvent,
    Position,
    PurchaseOrderLine,
    SnapshotLine,
    SourceSystem,
)
from tests.controltower.factories import (
    UserFactory,
    make_user,
    person_token,
    source_token,
)
from tests.inventory.factories import (
    LocationFactory,
    RegionFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db(transaction=False)

CENT = Decimal("0.01")
# The most units of the costliest SKU one adjustment may move: its value stays within MAX_VALUE.
GOLD_UNITS = int(MAX_VALUE // MAX_UNIT_COST)
CHEAP_COST = Decimal("999.9999")  # MAX_QUANTITY of it is just within MAX_VALUE


def _auth(token):
    return {"HTTP_AUTHORIZATION": f"Token {token}"}


def _iso(moment):
    return moment.isoformat()


class World:
    """Two stores of one region, the sources, the people, and their tokens."""

    def __init__(self, api_client):
        self.api = api_client
        self.now = timezone.now()
        region = RegionFactory(code="BIG")
        self.s1 = LocationFactory(code="S100", region=region, timezone="Europe/Berlin")
        self.s2 = LocationFactory(code="S200", region=region, timezone="Europe/Berlin")
        self.pos = SourceSystemFactory(code="POS-BIG", kind=SourceSystem.Kind.POS)
        self.erp = SourceSystemFactory(code="ERP-BIG", kind=SourceSystem.Kind.ERP)
        self.wms = SourceSystemFactory(code="WMS-BIG", kind=SourceSystem.Kind.WMS)
        SourceSystemFactory(code="OMS-SILENT", kind=SourceSystem.Kind.OMS)  # never sends: a stale feed
        self.tokens = {s.code: source_token(s) for s in (self.pos, self.erp, self.wms)}
        self.people = {
            "manager": make_user(Role.STORE_MANAGER, [self.s1, self.s2], username="manager"),
            "regional": make_user(Role.REGIONAL_OPS, region=region, username="regional"),
            "planner": make_user(Role.PLANNER, username="planner"),
            "finance": make_user(Role.FINANCE, username="finance"),
            "admin": UserFactory(username="admin", is_staff=True, is_superuser=True),
        }

    def post(self, url, body, source=None, person=None):
        token = self.tokens[source] if source else person_token(self.people[person])
        return self.api.post(url, body, format="json", **_auth(token))

    def events(self, source, events):
        response = self.post("/api/v1/events", {"events": events}, source=source)
        assert response.status_code == 200, response.content
        return response.json()

    def event(self, txn, type, sku, days_ago, quantity=MAX_QUANTITY, location="S100", **extra):
        at = self.now - timedelta(days=days_ago)
        return {"transaction_id": txn, "type": type, "location": location, "sku": sku, "quantity": quantity,
                "occurred_at": _iso(at), **extra}


def _load_largest(world):
    """Post the largest accepted values through every path; returns nothing, asserts each is taken."""
    w = world
    # Master data: the costliest SKU the tower stores, and one whose MAX_QUANTITY is just within MAX_VALUE.
    response = w.post("/api/v1/skus", {"skus": [
        {"code": "GOLD", "description": "Costliest item", "category": "Big", "unit_cost": str(MAX_UNIT_COST),
         "base_unit": "EA", "barcodes": [], "conversions": []},
        {"code": "CHEAP", "description": "Many of them", "category": "Big", "unit_cost": str(CHEAP_COST),
         "base_unit": "EA", "barcodes": [], "conversions": []},
    ]}, source="ERP-BIG")
    assert response.status_code == 200 and response.json()["refused"] == [], response.content
    assert SKU.objects.get(code="GOLD").unit_cost == MAX_UNIT_COST

    # PO lines: the largest line number and quantity.
    response = w.post("/api/v1/po-lines", {"lines": [
        {"po_number": "PO-BIG", "line": MAX_SMALL_INTEGER, "location": "S100", "sku": "GOLD",
         "quantity": MAX_QUANTITY, "expected_at": _iso(w.now + timedelta(days=3))},
    ]}, source="ERP-BIG")
    assert response.status_code == 200 and response.json()["counts"]["rejected"] == 0, response.content

    yesterday_noon = (w.now - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    report = w.events("POS-BIG", [
        # A receipt of the most units a line holds, of the costliest SKU, against no PO line...
        w.event("R1", "receipt", "GOLD", 6, reference="PO-NONE"),
        # ...and one against the PO line.
        w.event("R2", "receipt", "GOLD", 6, reference="PO-BIG"),
        # A transfer that never arrives, a count, an adjustment, a return never dispositioned.
        w.event("T1", "transfer_out", "GOLD", 5, to_location="S200", reference="TR-BIG"),
        w.event("C1", "cycle_count", "GOLD", 4, to_state="damaged"),
        w.event("A1", "adjustment", "GOLD", 4, to_state="quarantined", reason="found"),
        w.event("A2", "adjustment", "GOLD", 4, quantity=-MAX_QUANTITY, to_state="reserved", reason="lost"),
        w.event("RET1", "return", "GOLD", 3),
        # Sales beyond stock (negative available), and a day the ERP posted one unit of.
        w.event("SALE1", "sale", "GOLD", 2, location="S200"),
        {**w.event("SALE2", "sale", "CHEAP", 0), "occurred_at": _iso(yesterday_noon)},
        w.event("SALE3", "sale", "CHEAP", 0, occurred_at=_iso(w.now - timedelta(minutes=3))),
        w.event("SALE4", "sale", "CHEAP", 0, occurred_at=_iso(w.now - timedelta(minutes=2))),
    ])
    assert report["counts"] == {"accepted": 11, "duplicate": 0, "conflict": 0, "rejected": 0}, report
    # SALE3 sent again under a new transaction id: a suspected duplicate.
    report = w.events("POS-BIG", [
        w.event("SALE3-AGAIN", "sale", "CHEAP", 0, occurred_at=_iso(w.now - timedelta(minutes=3)))])
    assert report["counts"]["accepted"] == 1, report
    # A key sent again with other content: an idempotency conflict.
    report = w.events("POS-BIG", [w.event("SALE4", "sale", "CHEAP", 0, quantity=MAX_QUANTITY - 1)])
    assert report["counts"]["conflict"] == 1
    report = w.events("ERP-BIG", [
        {**w.event("POST1", "sales_posting", "CHEAP", 0, quantity=1), "occurred_at": _iso(yesterday_noon)},
    ])
    assert report["counts"]["accepted"] == 1, report

    # Snapshots: the WMS says it holds the most units a line holds where the ledger has none;
    # the ERP values a line at the most a money column holds.
    response = w.post("/api/v1/snapshots", {"as_of": _iso(w.now - timedelta(minutes=1)), "lines": [
        {"location": "S100", "sku": "GOLD", "state": "picked", "quantity": MAX_QUANTITY},
        {"location": "S200", "sku": "GOLD", "state": "damaged", "quantity": MAX_QUANTITY},
    ]}, source="WMS-BIG")
    assert response.status_code == 200 and response.json()["counts"]["rejected"] == 0, response.content
    response = w.post("/api/v1/snapshots", {"as_of": _iso(w.now - timedelta(minutes=1)), "kind": "valuation",
                                            "lines": [
        {"location": "S100", "sku": "GOLD", "state": "available", "quantity": MAX_QUANTITY, "value": str(MAX_VALUE)},
        {"location": "S100", "sku": "CHEAP", "state": "available", "quantity": 0, "value": str(-MAX_VALUE)},
    ]}, source="ERP-BIG")
    assert response.status_code == 200 and response.json()["counts"]["rejected"] == 0, response.content
    # A rejected event, for the master-data rejections kind.
    report = w.events("POS-BIG", [w.event("BAD1", "sale", "NOSUCH", 0)])
    assert report["counts"]["rejected"] == 1


def _reconcile_all():
    for kind in DETECTORS:  # as manage.py reconcile does
        run_reconciliation(kind)


def _case(kind, **filters):
    return Case.objects.filter(kind=kind, **filters).get()


def _adjust_on_the_web(client, case, quantity, state="available"):
    return client.post(reverse("case-adjust", args=[case.pk]), {"state": state, "quantity": str(quantity), "reason": "ADMIN_CORRECTION", "confirm": "on"},
                       HTTP_HX_REQUEST="true")


def _text(response):
    return b"".join(response.streaming_content).decode() if response.streaming else response.content.decode()


def test_the_largest_accepted_values_break_no_page(api_client, client, default_routing):
    world = World(api_client)
    _load_largest(world)
    _reconcile_all()

    gold, cheap = SKU.objects.get(code="GOLD"), SKU.objects.get(code="CHEAP")
    kinds = set(Case.objects.values_list("kind", flat=True))
    assert kinds >= {
        CaseKind.SNAPSHOT_MISMATCH, CaseKind.FINANCIAL_VARIANCE, CaseKind.SALES_POSTING_GAP,
        CaseKind.TRANSFER_NOT_RECEIVED, CaseKind.RETURN_NOT_DISPOSITIONED, CaseKind.RECEIPT_WITHOUT_PO,
        CaseKind.SUSPECTED_DUPLICATE, CaseKind.NEGATIVE_STOCK, CaseKind.STALE_FEED,
        CaseKind.MASTER_DATA_REJECTIONS, CaseKind.IDEMPOTENCY_CONFLICT,
    }, kinds
    # Derived money stops at what the column holds; quantities are what the ledger says.
    unreceived = _case(CaseKind.RECEIPT_WITHOUT_PO, reference="PO-NONE")
    assert unreceived.quantity_at_risk == MAX_QUANTITY and unreceived.value_at_risk == MAX_VALUE
    assert _case(CaseKind.NEGATIVE_STOCK, location=world.s2, sku=gold).value_at_risk == MAX_VALUE
    assert _case(CaseKind.TRANSFER_NOT_RECEIVED).value_at_risk == MAX_VALUE
    assert max(Case.objects.values_list("value_at_risk", flat=True)) == MAX_VALUE

    # Corrective adjustments as large as accepted: through the web form (the most units of the
    # costliest SKU, and MAX_QUANTITY of the cheaper one) and through the API's resolve.
    client.force_login(world.people["manager"])
    negative = _case(CaseKind.NEGATIVE_STOCK, location=world.s2, sku=gold)
    response = _adjust_on_the_web(client, negative, GOLD_UNITS)
    assert response.status_code == 200 and "errorlist" not in response.content.decode()
    duplicate = _case(CaseKind.SUSPECTED_DUPLICATE, location=world.s1, sku=cheap)
    response = _adjust_on_the_web(client, duplicate, -MAX_QUANTITY, state="reserved")
    assert response.status_code == 200 and "errorlist" not in response.content.decode()
    counted = _case(CaseKind.SNAPSHOT_MISMATCH, location=world.s1, sku=gold)
    response = world.post(f"/api/v1/cases/{counted.pk}/resolve", {
        "resolution_code": "recounted", "root_cause": "process_non_compliance",
        "adjustment": {"state": "picked", "quantity": GOLD_UNITS, "reason": "ADMIN_CORRECTION", "confirm": True},
    }, person="planner")
    assert response.status_code == 200, response.content
    values = sorted(CorrectiveAdjustment.objects.values_list("value", flat=True))
    assert values == [CHEAP_COST * MAX_QUANTITY, MAX_UNIT_COST * GOLD_UNITS, MAX_UNIT_COST * GOLD_UNITS]
    assert all(value <= MAX_VALUE for value in values)
    # Finance approves one: it is posted to the ledger.
    client.force_login(world.people["finance"])
    approved = CorrectiveAdjustment.objects.get(case=negative)
    response = client.post(reverse("approval-approve", args=[approved.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    approved.refresh_from_db()
    assert approved.status == CorrectiveAdjustment.Status.POSTED
    assert InventoryEvent.objects.filter(transaction_id=approved.transaction_id, quantity=GOLD_UNITS).exists()
    _reconcile_all()  # again: the known cases are refreshed with the same bounded numbers

    assert Position.objects.filter(available__lte=-MAX_QUANTITY).exists()
    every_case = list(Case.objects.select_related("location"))
    big_value = f"{MAX_VALUE}"  # 999999999999.99
    big_quantity = f"{MAX_QUANTITY}"

    for name, user in world.people.items():
        client.force_login(user)
        sees = [c for c in every_case if name not in ("manager", "regional") or c.location_id is not None]
        pages = ["/", reverse("stores"), reverse("cases") + "?status=", reverse("cases")]
        for url in pages:
            response = client.get(url, follow=True)  # home sends some roles to their main screen
            assert response.status_code == 200, (name, url)
        queue = client.get(reverse("cases") + "?status=").content.decode()
        assert big_value in queue and big_quantity in queue, name

        export = client.get(reverse("case-export") + "?status=")
        assert export.status_code == 200
        rows = list(csv.DictReader(io.StringIO(_text(export))))
        assert sorted(int(row["id"]) for row in rows) == sorted(c.pk for c in sees), name
        assert big_value in {row["value_at_risk"] for row in rows}

        for case in sees:
            response = client.get(reverse("case-detail", args=[case.pk]))
            assert response.status_code == 200, (name, case.kind)
            if case.value_at_risk == MAX_VALUE:
                assert big_value in response.content.decode()
            preview = client.get(reverse("case-adjust-preview", args=[case.pk]),
                                 {"state": "available", "quantity": str(MAX_QUANTITY)})
            assert preview.status_code == 200

        response = client.get(reverse("approvals"))
        assert response.status_code == (200 if name in ("finance", "admin") else 403), name
        if response.status_code == 200:
            assert f"{(CHEAP_COST * MAX_QUANTITY).quantize(CENT)}" in response.content.decode()

        headers = _auth(person_token(user))
        listed = api_client.get("/api/v1/cases?status=&limit=1000", **headers)
        assert listed.status_code == 200, name
        assert big_value in {row["value_at_risk"] for row in listed.json()["results"]}
        for case in sees:
            detail = api_client.get(f"/api/v1/cases/{case.pk}", **headers)
            assert detail.status_code == 200, (name, case.kind)
        for adjustment in CorrectiveAdjustment.objects.all():
            assert api_client.get(f"/api/v1/adjustments/{adjustment.pk}", **headers).status_code == 200
        positions = api_client.get("/api/v1/positions?limit=1000", **headers)
        assert positions.status_code == 200
        shown = {row[state] for row in positions.json()["results"] for state in STATES}
        assert MAX_QUANTITY in shown and min(shown) <= -MAX_QUANTITY, name
        events = api_client.get("/api/v1/events?limit=1000", **headers)
        assert events.status_code == 200
        assert MAX_QUANTITY in {row["quantity"] for row in events.json()["results"]}
        assert api_client.get("/api/v1/rejections", **headers).status_code == 200

    client.force_login(world.people["admin"])
    for model in ("exceptions/case", "exceptions/correctiveadjustment", "inventory/inventoryevent",
                  "inventory/position", "inventory/transfer", "inventory/rejectedevent", "inventory/sku"):
        response = client.get(f"/admin/{model}/")
        assert response.status_code == 200, model
    assert big_value in client.get("/admin/exceptions/case/" + f"{unreceived.pk}/change/").content.decode()
    assert client.get(f"/admin/exceptions/correctiveadjustment/{approved.pk}/change/").status_code == 200
    for line in SnapshotLine.objects.all():
        assert abs(line.quantity) == MAX_QUANTITY or line.quantity == 0


# --------------------------------------------------------------------------
# Just above each bound: refused with the field named, nothing stored
# --------------------------------------------------------------------------

@pytest.fixture
def world(api_client):
    world = World(api_client)
    response = world.post("/api/v1/skus", {"skus": [
        {"code": "GOLD", "description": "Costliest item", "category": "Big", "unit_cost": str(MAX_UNIT_COST),
         "base_unit": "EA"},
        {"code": "CHEAP", "description": "Many of them", "category": "Big", "unit_cost": str(CHEAP_COST),
         "base_unit": "EA"},
    ]}, source="ERP-BIG")
    assert response.json()["refused"] == []
    return world


def test_an_event_above_max_quantity_is_refused(world):
    report = world.events("POS-BIG", [world.event("R9", "receipt", "GOLD", 1, quantity=MAX_QUANTITY + 1)])
    assert report["results"][0]["status"] == "rejected" and "quantity" in report["results"][0]["errors"]
    assert not InventoryEvent.objects.exists()


def test_a_snapshot_line_above_max_value_is_refused(world):
    response = world.post("/api/v1/snapshots", {"as_of": _iso(world.now), "kind": "valuation", "lines": [
        {"location": "S100", "sku": "GOLD", "quantity": 1, "value": str(MAX_VALUE + CENT)},
        {"location": "S100", "sku": "GOLD", "quantity": MAX_QUANTITY + 1, "value": "1.00"},
    ]}, source="ERP-BIG")
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert "value" in rejected[0]["errors"] and "quantity" in rejected[1]["errors"]
    assert not SnapshotLine.objects.exists()


def test_a_po_line_above_the_bounds_is_refused(world):
    response = world.post("/api/v1/po-lines", {"lines": [
        {"po_number": "PO-1", "line": 1, "location": "S100", "sku": "GOLD", "quantity": MAX_QUANTITY + 1},
        {"po_number": "PO-2", "line": MAX_SMALL_INTEGER + 1, "location": "S100", "sku": "GOLD", "quantity": 1},
    ]}, source="ERP-BIG")
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert "quantity" in rejected[0]["errors"] and "line" in rejected[1]["errors"]
    assert not PurchaseOrderLine.objects.exists()


def test_a_sku_above_max_unit_cost_is_refused(world):
    response = world.post("/api/v1/skus", {"skus": [
        {"code": "PLATINUM", "description": "Too dear", "category": "Big",
         "unit_cost": str(MAX_UNIT_COST + Decimal("0.0001")), "base_unit": "EA"},
    ]}, source="ERP-BIG")
    assert response.status_code == 200
    assert "unit_cost" in response.json()["refused"][0]["errors"]
    assert not SKU.objects.filter(code="PLATINUM").exists()


@pytest.fixture
def gold_case(world, default_routing):
    world.events("POS-BIG", [world.event("S1", "sale", "GOLD", 0, quantity=3)])
    run_reconciliation(CaseKind.NEGATIVE_STOCK)
    return _case(CaseKind.NEGATIVE_STOCK)


@pytest.mark.parametrize("quantity", [MAX_QUANTITY + 1, -(MAX_QUANTITY + 1), GOLD_UNITS + 1, 10**12])
def test_an_adjustment_above_the_bounds_is_refused_on_the_case_page(client, world, gold_case, quantity):
    """GOLD_UNITS + 1 of the costliest SKU is worth more than MAX_VALUE; the others are too many units."""
    client.force_login(world.people["manager"])
    response = _adjust_on_the_web(client, gold_case, quantity)
    assert response.status_code == 200
    form = response.context["adjust_form"]
    assert "quantity" in form.errors, form.errors
    assert not CorrectiveAdjustment.objects.exists()
    # The case and its page stay as they were.
    assert client.get(reverse("case-detail", args=[gold_case.pk])).status_code == 200
    preview = client.get(reverse("case-adjust-preview", args=[gold_case.pk]),
                         {"state": "available", "quantity": str(quantity)})
    assert preview.status_code == 200


@pytest.mark.parametrize("quantity", [MAX_QUANTITY + 1, GOLD_UNITS + 1, 10**12])
def test_an_adjustment_above_the_bounds_is_refused_by_the_api_and_the_case_stays_open(world, gold_case, quantity):
    response = world.post(f"/api/v1/cases/{gold_case.pk}/resolve", {
        "resolution_code": "recounted", "root_cause": "shrink",
        "adjustment": {"state": "available", "quantity": quantity, "reason": "ADMIN_CORRECTION", "confirm": True},
    }, person="planner")
    assert response.status_code == 400, response.content
    assert "quantity" in str(response.json()), response.json()
    gold_case.refresh_from_db()
    assert gold_case.status == Case.Status.OPEN and gold_case.resolved_at is None
    assert not CorrectiveAdjustment.objects.exists()
    assert not gold_case.history.filter(action="resolve").exists()
    assert world.api.get(f"/api/v1/cases/{gold_case.pk}", **_auth(person_token(world.people["planner"]))
                         ).status_code == 200


# --------------------------------------------------------------------------
# Numbers people type elsewhere: the admin's SLA targets, add_source
# --------------------------------------------------------------------------

def test_an_sla_target_beyond_a_month_is_refused_in_the_admin(client, default_routing):
    """2**31 - 1 minutes passed the admin on both backends (a 32-bit column);
    every case of that severity then failed to open (no due time to compute)."""
    from exceptions.models import SLA_MAX_MINUTES, SLAPolicy

    policy = SLAPolicy.objects.get(kind="", severity=3)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = f"/admin/exceptions/slapolicy/{policy.pk}/change/"
    form = {"kind": "", "severity": 3, "response_minutes": 240, "resolution_minutes": MAX_SMALL_INTEGER,
            "trading_hours_only": "on"}
    response = client.post(url, form)
    assert response.status_code == 200
    assert "resolution_minutes" in response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert policy.resolution_minutes == 1440
    response = client.post(url, {**form, "resolution_minutes": SLA_MAX_MINUTES})
    assert response.status_code == 302
    world_store = LocationFactory(code="S300")
    source = SourceSystemFactory(code="POS-SLA")
    from inventory.ledger import ingest_events

    ingest_events(source, [{"transaction_id": "x", "type": "sale", "location": world_store.code,
                            "sku": SKU.objects.create(code="ONE", description="One", category="x",
                                                      unit_cost=Decimal("1.00")).code,
                            "quantity": 3, "occurred_at": _iso(timezone.now())}])
    run_reconciliation(CaseKind.NEGATIVE_STOCK)
    assert Case.objects.get(kind=CaseKind.NEGATIVE_STOCK).resolution_due_at is not None


@pytest.mark.parametrize("option", ["--interval", "--latency-target"])
def test_add_source_refuses_seconds_beyond_its_column(option):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="at most"):
        call_command("add_source", "POS-HUGE", "--kind", "pos", option, str(MAX_SMALL_INTEGER + 1))
    assert not SourceSystem.objects.filter(code="POS-HUGE").exists()
    call_command("add_source", "POS-HUGE", "--kind", "pos", option, str(MAX_SMALL_INTEGER), stdout=io.StringIO())
    assert SourceSystem.objects.filter(code="POS-HUGE").exists()


# --------------------------------------------------------------------------
# The longest keys accepted: every derived text fits its column (issue 18)
# --------------------------------------------------------------------------

def _fits_its_columns(obj):
    """The char fields of `obj` longer than their column (SQLite does not refuse them; PostgreSQL does)."""
    return {
        f.name: len(getattr(obj, f.attname))
        for f in obj._meta.concrete_fields
        if getattr(f, "max_length", None) and isinstance(getattr(obj, f.attname), str)
        and len(getattr(obj, f.attname)) > f.max_length
    }


def test_the_longest_accepted_keys_fit_every_case(api_client, default_routing):
    """A 128-character transaction id made the case reference "<source>:<transaction id>"
    193 characters: PostgreSQL refused the idempotency-conflict case on every run (DataError)."""
    from exceptions.models import CaseHistory, CaseLink

    source_code = "P" * 63 + "1"  # SourceSystem.code: 64
    erp_code = "E" * 63 + "2"
    location_code, other_code = "L" * 31 + "1", "L" * 31 + "2"  # Location.code: 32
    sku_code = "K" * 64  # SKU.code: 64
    txn = "T" * 127  # transaction ids: 128 (the last character tells them apart)
    reference = "R" * 127  # references: 128
    reason = "Z" * 64
    now = timezone.now()
    region = RegionFactory(code="LONG")
    LocationFactory(code=location_code, region=region)
    LocationFactory(code=other_code, region=region)
    pos = SourceSystemFactory(code=source_code, kind=SourceSystem.Kind.POS)
    erp = SourceSystemFactory(code=erp_code, kind=SourceSystem.Kind.ERP)
    tokens = {pos: source_token(pos), erp: source_token(erp)}

    def post(source, url, body):
        response = api_client.post(url, body, format="json", **_auth(tokens[source]))
        assert response.status_code == 200, response.content
        return response.json()

    assert post(erp, "/api/v1/skus", {"skus": [{"code": sku_code, "description": "D" * 300, "category": "C" * 100,
                                                 "unit_cost": "1.00", "base_unit": "EA"}]})["refused"] == []

    def event(suffix, type, minutes_ago, **extra):
        return {"transaction_id": txn + suffix, "type": type, "location": location_code, "sku": sku_code,
                "quantity": 5, "occurred_at": _iso(now - timedelta(minutes=minutes_ago)), **extra}

    report = post(pos, "/api/v1/events", {"events": [
        event("1", "receipt", 60 * 24 * 5, reference=reference + "1"),
        event("2", "transfer_out", 60 * 24 * 5, reference=reference + "2", to_location=other_code),
        {**event("3", "transfer_in", 60 * 24 * 3, reference=reference + "3"), "location": other_code},
        event("4", "return", 60 * 24 * 3, reference=reference + "4"),
        event("5", "adjustment", 60 * 24 * 2, quantity=-3, reason=reason),
        event("6", "pick", 60 * 24, from_state="reserved"),
        event("7", "sale", 30, quantity=50, reference=reference + "7"),
        event("8", "cycle_count", 20, quantity=400),
    ]})
    assert report["counts"]["accepted"] == 8, report
    # The sale sent again under a new transaction id, two keys sent again with other content,
    # and an event for a SKU the tower does not know.
    report = post(pos, "/api/v1/events", {"events": [
        event("9", "sale", 30, quantity=50, reference=reference + "7"),
        event("1", "receipt", 60 * 24 * 5, quantity=6, reference=reference + "1"),
        event("2", "transfer_out", 60 * 24 * 5, quantity=6, reference=reference + "2", to_location=other_code),
        {**event("A", "sale", 10), "sku": "N" * 64},
    ]})
    assert report["counts"] == {"accepted": 1, "duplicate": 0, "conflict": 2, "rejected": 1}, report
    post(erp, "/api/v1/snapshots", {"as_of": _iso(now - timedelta(minutes=1)), "lines": [
        {"location": location_code, "sku": sku_code, "state": "available", "quantity": 900},
    ]})

    for kind in DETECTORS:
        run_reconciliation(kind)

    kinds = set(Case.objects.values_list("kind", flat=True))
    assert kinds >= {
        CaseKind.SNAPSHOT_MISMATCH, CaseKind.TRANSFER_NOT_RECEIVED, CaseKind.RETURN_NOT_DISPOSITIONED,
        CaseKind.RECEIPT_WITHOUT_PO, CaseKind.SUSPECTED_DUPLICATE, CaseKind.NEGATIVE_STOCK,
        CaseKind.MASTER_DATA_REJECTIONS, CaseKind.IDEMPOTENCY_CONFLICT, CaseKind.TRANSFER_IN_WITHOUT_OUT,
        CaseKind.BEYOND_RESERVED,
    }, kinds
    too_long = [(type(obj).__name__, obj.pk, fields) for model in (Case, CaseHistory, CaseLink)
                for obj in model.objects.all() if (fields := _fits_its_columns(obj))]
    assert too_long == []
    # Two long keys that differ only in their last character are two cases, each named by its source.
    conflicts = list(Case.objects.filter(kind=CaseKind.IDEMPOTENCY_CONFLICT).values_list("reference", flat=True))
    assert len(conflicts) == len(set(conflicts)) == 2
    assert all(ref.startswith(f"{source_code}:{txn[:40]}") for ref in conflicts)
    # A second pass finds the same cases (the bounded references are the same every run).
    before = set(Case.objects.values_list("fingerprint", flat=True))
    for kind in DETECTORS:
        assert not run_reconciliation(kind).opened, kind
    assert set(Case.objects.values_list("fingerprint", flat=True)) == before
