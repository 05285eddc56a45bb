"""Decimal unit factors: weighed items sold by the pound, counted in grams.

The one rounding rule (inventory.ledger.validation.base_quantity_of,
docs/domain.md): a unit whose factor has decimals is rounded to the nearest
whole base unit, halves away from zero; a unit with a whole factor must come
to whole base units."""
from decimal import Decimal

import orjson
import pytest

from inventory import ledger
from inventory.masterdata import import_skus
from inventory.models import SKU, InventoryEvent, Position, UnitConversion
from inventory.snapshots import ingest_snapshot
from tests.controltower.factories import source_token

from .factories import LocationFactory, SKUFactory, SourceSystemFactory, UnitConversionFactory
from .payloads import event

pytestmark = pytest.mark.django_db


@pytest.fixture
def apples():
    """Apples sold by weight: base unit gram, by the pound and the kilogram."""
    sku = SKUFactory(code="APPLE", base_unit="G")
    UnitConversionFactory(sku=sku, unit="LBR", factor=Decimal("453.59237"))
    UnitConversionFactory(sku=sku, unit="KGM", factor=1000)
    UnitConversionFactory(sku=sku, unit="BAG", factor=Decimal("2.5"))  # a measure with a half in it
    return sku


@pytest.fixture
def store():
    return LocationFactory(code="S001")


@pytest.fixture
def till():
    return SourceSystemFactory(code="POS-NCR")


def posted(till, *events):
    report = ledger.ingest_events(till, [event(sku="APPLE", **fields) for fields in events])
    return [(r.status, r.errors) for r in report.results]


def test_a_weighed_sale_rounds_to_the_nearest_gram(apples, store, till):
    answers = posted(
        till,
        {"transaction_id": "R", "type": "receipt", "quantity": "10", "unit": "KGM"},
        {"transaction_id": "S", "type": "sale", "quantity": "0.42", "unit": "LBR"},  # 190.5088 g
    )

    assert answers == [("accepted", {}), ("accepted", {})]
    sale = InventoryEvent.objects.get(transaction_id="S")
    assert (sale.quantity, sale.entered_quantity, sale.entered_unit) == (191, Decimal("0.42"), "LBR")
    assert Position.objects.get(location=store, sku=apples).available == 10_000 - 191


def test_halves_round_away_from_zero_both_ways(apples, store, till):
    posted(
        till,
        {"transaction_id": "UP", "type": "adjustment", "quantity": "1", "unit": "BAG", "reason": "found"},
        {"transaction_id": "DOWN", "type": "adjustment", "quantity": "-1", "unit": "BAG", "reason": "lost"},
        {"transaction_id": "LOW", "type": "receipt", "quantity": "0.2", "unit": "BAG"},  # 0.5 g
    )

    assert dict(InventoryEvent.objects.values_list("transaction_id", "quantity")) == {"UP": 3, "DOWN": -3, "LOW": 1}


def test_whole_factors_still_refuse_a_fraction_of_a_base_unit(apples, store, till):
    answers = posted(
        till,
        {"transaction_id": "A", "type": "sale", "quantity": "0.4205", "unit": "KGM"},  # 420.5 g
        {"transaction_id": "B", "type": "sale", "quantity": "1.5"},  # grams, the base unit
        {"transaction_id": "C", "type": "sale", "quantity": "0.0011", "unit": "LBR"},  # 0.499 g: nothing
    )

    assert answers == [
        ("rejected", {"quantity": ["0.4205 KGM is 420.5 base units: not a whole number."]}),
        ("rejected", {"quantity": ["1.5 G is 1.5 base units: not a whole number."]}),
        ("rejected", {"quantity": ["Must be greater than zero."]}),
    ]


def test_a_snapshot_line_in_pounds_is_held_in_grams(apples, store, till):
    report = ingest_snapshot(till, "2026-01-01T00:00:00+00:00", [
        {"location": "S001", "sku": "APPLE", "quantity": "1.5", "unit": "LBR"},  # 680.388555 g
    ])

    assert report.snapshot.lines.get().quantity == 680


def test_import_skus_takes_decimal_factors():
    row = {"code": "APPLE", "description": "Apples", "category": "Produce", "unit_cost": "0.004",
           "base_unit": "G", "conversions": "LBR=453.59237;KGM=1000"}

    first = import_skus([row])
    again = import_skus([row])
    changed = import_skus([row | {"conversions": "LBR=453.6"}])

    assert first.created == 1 and again.unchanged == 1
    assert dict(UnitConversion.objects.values_list("unit", "factor")) == {
        "LBR": Decimal("453.59237"), "KGM": Decimal("1000")}
    assert changed.refused[0].errors == {"conversions": ["LBR is 453.59237 G in the tower; the file says 453.6."]}
    assert str(UnitConversion.objects.get(unit="LBR")) == "APPLE LBR=453.59237"


def test_the_api_takes_a_decimal_factor_and_shows_it_as_a_number(api_client, store, till):
    erp = SourceSystemFactory(code="ERP", kind="erp")
    loaded = api_client.post("/api/v1/skus", data=orjson.dumps({"skus": [{
        "code": "APPLE", "description": "Apples", "category": "Produce", "unit_cost": "0.004", "base_unit": "G",
        "conversions": [{"unit": "LBR", "factor": 453.59237}, {"unit": "KGM", "factor": 1000}],
    }]}), content_type="application/json", HTTP_AUTHORIZATION=f"Token {source_token(erp)}")
    assert loaded.status_code == 200, loaded.content

    sale = api_client.post("/api/v1/events", data=orjson.dumps({"events": [
        event(type="sale", sku="APPLE", quantity=0.42, unit="LBR"),
    ]}), content_type="application/json", HTTP_AUTHORIZATION=f"Token {source_token(till)}")
    row = api_client.get("/api/v1/skus", HTTP_AUTHORIZATION=f"Token {source_token(till)}").json()["results"][0]

    assert sale.json()["counts"]["accepted"] == 1
    assert InventoryEvent.objects.get().quantity == 191
    assert sorted(row["conversions"], key=lambda c: c["unit"]) == [
        {"unit": "KGM", "factor": 1000}, {"unit": "LBR", "factor": 453.59237}]
    assert SKU.objects.get().base_unit == "G"
