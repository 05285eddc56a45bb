"""The OpenAPI schema of the API."""
import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


def test_schema_is_served_and_documents_event_ingest(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/events" in schema["paths"]
    post = schema["paths"]["/api/v1/events"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/IngestRequest")
    assert set(post["responses"]) == {"200", "400", "401", "403", "413", "429"}
    assert "Retry-After" in post["responses"]["429"]["headers"]
    assert "API_MAX_BODY_BYTES" in post["responses"]["413"]["description"]
    assert set(schema["paths"]["/api/v1/events"]["get"]["responses"]) >= {"200", "429"}
    assert "413" not in schema["paths"]["/api/v1/events"]["get"]["responses"]
    event = schema["components"]["schemas"]["IngestEvent"]
    assert {"transaction_id", "type", "location", "sku", "barcode", "quantity", "unit", "occurred_at",
            "from_state", "to_state", "reference", "to_location", "reason"} <= set(event["properties"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_inventory_api_schema_generates_without_warnings():
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=[path("api/v1/", include("inventory.api.urls"))])

    schema = generator.get_schema(request=None, public=True)

    assert not GENERATOR_STATS, "drf-spectacular warned about the inventory API"
    validate_schema(schema)
    assert {"/api/v1/positions", "/api/v1/locations", "/api/v1/skus", "/api/v1/rejections"} <= set(schema["paths"])


def test_whole_api_schema_generates_without_warnings():
    GENERATOR_STATS.reset()

    schema = SchemaGenerator().get_schema(request=None, public=True)

    assert not GENERATOR_STATS, "drf-spectacular warned about the API"
    validate_schema(schema)
    assert {"/api/v1/snapshots", "/api/v1/po-lines", "/api/v1/cases"} <= set(schema["paths"])


def test_api_docs_page_is_served(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
