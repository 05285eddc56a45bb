"""Property: no body, topic or header makes the Shopify webhook answer 500.

Signed, any body is answered 200 with one item (accepted, duplicate,
rejected naming the field, or ignored with a reason); unsigned, 401."""
import base64
import hashlib
import hmac

import orjson
import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import SourceSystem
from inventory.webhooks import set_webhook_secret
from tests.inventory.factories import ExternalIdFactory, LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]

SECRET = "property-secret-0123456789abcdef"
EXAMPLES = settings(
    max_examples=120, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

ids = (st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.sampled_from([24826418, 271878346596884015])
       | st.text(max_size=20) | st.sampled_from(["gid://shopify/InventoryItem/271878346596884015", "", "\x00"])
       | st.none() | st.booleans() | st.floats())
values = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.floats() | st.text(max_size=30) | st.sampled_from(
    ["2026-11-23T10:15:00-05:00", "2026-11-23T10:15:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+01:00"])
levels = st.fixed_dictionaries({}, optional={
    "inventory_item_id": ids, "location_id": ids, "available": values | st.integers(-5, 5), "updated_at": values,
    "admin_graphql_api_id": values,
})
json_bodies = levels.map(orjson.dumps) | st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
).map(orjson.dumps)
bodies = json_bodies | st.binary(max_size=200) | st.sampled_from([b"", b"{", b'{"available": 1e999}',
                                                                  b'{"location_id": 1' + b"0" * 400 + b"}"])
topics = st.sampled_from(["inventory_levels/update", "inventory_levels/connect", "", "orders/create"]) | st.text(
    st.characters(min_codepoint=32, max_codepoint=126), max_size=80)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200)


@pytest.fixture
def shop():
    source = SourceSystemFactory(code="SHOPIFY", kind=SourceSystem.Kind.ECOM)
    set_webhook_secret(source, SECRET)
    ExternalIdFactory(source=source, kind="location", external_id="24826418", location=LocationFactory(code="WEB"))
    ExternalIdFactory(source=source, kind="sku", external_id="271878346596884015", sku=SKUFactory(code="TEE"))
    return source


@EXAMPLES
@given(body=bodies, topic=topics, event_id=header_text)
def test_a_signed_delivery_is_always_answered_200_with_one_item(client, shop, body, topic, event_id):
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    response = client.post(
        reverse("api-webhook-shopify", args=["SHOPIFY"]), data=body, content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature, HTTP_X_SHOPIFY_TOPIC=topic, HTTP_X_SHOPIFY_EVENT_ID=event_id,
    )

    assert response.status_code == 200
    (item,) = response.json()["results"]
    assert item["status"] in {"accepted", "duplicate", "rejected", "ignored"}
    if item["status"] == "rejected":
        assert item["errors"]
    if item["status"] == "ignored":
        assert item["reason"]


@EXAMPLES
@given(body=bodies, signature=header_text, code=st.text(st.characters(min_codepoint=48, max_codepoint=122),
                                                         min_size=1, max_size=70))
def test_an_unsigned_or_badly_signed_delivery_is_always_401(client, shop, body, signature, code):
    response = client.post(
        reverse("api-webhook-shopify", args=[code]), data=body, content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature, HTTP_X_SHOPIFY_TOPIC="inventory_levels/update",
    )

    assert response.status_code == 401
