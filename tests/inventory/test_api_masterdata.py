"""POST /api/v1/locations and /api/v1/skus: admins load master data."""
import pytest

from controltower.models import Role
from inventory.models import SKU, Location
from tests.controltower.factories import make_user, person_token, source_token
from tests.inventory.factories import (
    BarcodeFactory,
    RegionFactory,
    SKUFactory,
    SourceSystemFactory,
)

pytestmark = pytest.mark.django_db


def post(client, url, key, body):
    return client.post(url, body, format="json", HTTP_AUTHORIZATION=f"Token {key}")


def test_integration_admin_loads_locations_and_sees_refused_rows(api_client):
    RegionFactory(code="NORTH")
    admin = make_user(Role.INTEGRATION_ADMIN)

    response = post(api_client, "/api/v1/locations", person_token(admin), {"locations": [
        {"code": "S100", "name": "Harbour", "kind": "store", "region": "NORTH", "timezone": "Europe/Berlin",
         "go_live_date": "2026-03-01"},
        {"code": "S101", "name": "Station", "kind": "kiosk", "region": "NORTH", "timezone": "Europe/Berlin"},
    ]})

    assert response.status_code == 200
    body = response.json()
    assert (body["loaded"], body["created"]) == (1, 1)
    assert body["refused"][0]["row"] == 2
    assert body["refused"][0]["code"] == "S101"
    assert "kind" in body["refused"][0]["errors"]
    assert list(Location.objects.values_list("code", "region__code")) == [("S100", "NORTH")]


def test_admin_loads_skus_with_barcode_and_conversion_lists(api_client):
    admin = make_user(Role.ADMIN)

    response = post(api_client, "/api/v1/skus", person_token(admin), {"skus": [
        {"code": "MILK", "description": "Milk 1l", "category": "Dairy", "unit_cost": "0.89", "base_unit": "EA",
         "barcodes": ["4000000000017", "4000000000024"], "conversions": [{"unit": "CS12", "factor": 12}]},
        {"code": "BREAD", "description": "Loaf", "category": "Bakery", "base_unit": "EA"},
    ]})

    body = response.json()
    assert body["loaded"] == 1
    assert body["refused"][0]["code"] == "BREAD"
    assert "unit_cost" in body["refused"][0]["errors"]
    milk = SKU.objects.get(code="MILK")
    assert sorted(milk.barcodes.values_list("code", flat=True)) == ["4000000000017", "4000000000024"]
    assert list(milk.conversions.values_list("unit", "factor")) == [("CS12", 12)]
    assert not SKU.objects.filter(code="BREAD").exists()


def test_a_barcode_of_another_sku_is_refused(api_client):
    BarcodeFactory(code="4000000000017", sku=SKUFactory(code="CHEESE"))
    admin = make_user(Role.ADMIN)

    response = post(api_client, "/api/v1/skus", person_token(admin), {"skus": [
        {"code": "MILK", "category": "Dairy", "unit_cost": "0.89", "base_unit": "EA", "barcodes": ["4000000000017"]},
    ]})

    assert response.json()["refused"][0]["errors"] == {
        "barcodes": ["Barcode 4000000000017 already belongs to SKU CHEESE."]
    }
    assert not SKU.objects.filter(code="MILK").exists()


@pytest.mark.parametrize("role", [Role.STORE_MANAGER, Role.PLANNER, Role.REGIONAL_OPS])
def test_other_roles_may_not_load_master_data(api_client, role):
    user = make_user(role)

    response = post(api_client, "/api/v1/skus", person_token(user), {"skus": [
        {"code": "MILK", "category": "Dairy", "unit_cost": "0.89", "base_unit": "EA"},
    ]})

    assert response.status_code == 403
    assert "admin" in response.json()["detail"]
    assert not SKU.objects.exists()


def test_a_source_system_may_not_load_locations(api_client):
    response = post(api_client, "/api/v1/locations", source_token(SourceSystemFactory()), {"locations": [
        {"code": "S100", "name": "Harbour", "kind": "store", "region": "NORTH", "timezone": "Europe/Berlin"},
    ]})

    assert response.status_code == 403
    assert not Location.objects.exists()


@pytest.mark.parametrize("body", [{"skus": {"code": "MILK"}}, {"items": []}, [{"code": "MILK"}]])
def test_a_body_without_the_list_of_rows_is_400(api_client, body):
    response = post(api_client, "/api/v1/skus", person_token(make_user(Role.ADMIN)), body)

    assert response.status_code == 400
    assert response.json()["detail"] == "The body must be a JSON object with a 'skus' list."
