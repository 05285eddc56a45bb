"""Property: no document makes POST /api/v1/poslog answer 500.

Documents shaped like POSLog (its element and attribute names, nested
arbitrarily, with arbitrary texts and attribute values) and arbitrary bytes
are posted; each is answered 200 with one result per line item, or 400 in
one line, and nothing else.
"""
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.controltower.factories import source_token

from .factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock_after_fixed_dates")]  # its data: November 2026

EXAMPLES = settings(
    max_examples=120, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
NAMESPACES = ["http://www.nrf-arts.org/IXRetail/namespace/", "http://www.nrf-arts.org/IXRetail/v6.0.0/poslog",
              "urn:other", ""]
ELEMENTS = ["Transaction", "RetailTransaction", "ControlTransaction", "LineItem", "Sale", "Return", "Tender",
            "RetailStoreID", "BusinessUnit", "UnitID", "WorkstationID", "SequenceNumber", "BusinessDayDate",
            "EndDateTime", "OperatorID", "CurrencyCode", "POSIdentity", "POSItemID", "ItemID", "Quantity",
            "Total", "ReasonCode"]
ATTRIBUTES = ["VoidFlag", "CancelFlag", "TrainingModeFlag", "TransactionStatus", "ItemType", "POSIDType",
              "UnitOfMeasureCode", "TypeCode", "TotalType"]
texts = st.text(max_size=20) | st.sampled_from([
    "", "S001", "SKU00001", "1", "-1", "0.42", "1e999999", "NaN", "-0", "١٢", "true", "Suspended", "GTIN",
    "Stock", "2026-11-23", "2026-11-23T10:00:00", "2026-11-23T10:00:00+01:00", "9999-12-31T23:59:59-14:00",
    "04006381333931", "x" * 200, "LBR", "TransactionGrandAmount", "99999999999999999999.99",
])


def element(kids):
    return st.builds(
        lambda name, attributes, text, kids: (name, attributes, text, kids),
        st.sampled_from(ELEMENTS), st.dictionaries(st.sampled_from(ATTRIBUTES), texts, max_size=3), texts, kids,
    )


trees = st.recursive(element(st.just([])), lambda children: element(st.lists(children, max_size=4)), max_leaves=30)


def xml(tree):
    name, attributes, text, kids = tree
    shown = "".join(f" {key}={quoteattr(value)}" for key, value in attributes.items())
    return f"<{name}{shown}>{escape(text)}{''.join(xml(kid) for kid in kids)}</{name}>"


def document(namespace, transactions):
    declared = f' xmlns="{namespace}"' if namespace else ""
    return f"<POSLog{declared}>{''.join(xml(t) for t in transactions)}</POSLog>".encode("utf-8", "surrogatepass")


documents = st.builds(document, st.sampled_from(NAMESPACES), st.lists(trees, max_size=4)) | st.binary(max_size=200)


@pytest.fixture
def post(api_client):
    LocationFactory(code="S001")
    SKUFactory(code="SKU00001")
    token = source_token(SourceSystemFactory(code="POSLOG-FUZZ", kind="pos"))

    def send(body):
        return api_client.post("/api/v1/poslog", data=body, content_type="application/xml",
                               HTTP_AUTHORIZATION=f"Token {token}")
    return send


@EXAMPLES
@given(body=documents)
def test_no_document_gets_a_500(post, body):
    response = post(body)

    assert response.status_code in (200, 400), response.content[:300]
    answer = response.json()
    if response.status_code == 400:
        assert "\n" not in answer["detail"]
    else:
        assert sum(answer["counts"].values()) == len(answer["results"])
        assert {r["status"] for r in answer["results"]} <= {"accepted", "duplicate", "conflict", "rejected", "ignored"}
