"""Property: no document makes POST /api/v1/epcis/capture answer 500.

EPCIS documents whose events have the standard's field names with
arbitrary JSON values, XML documents of the standard's element names
nested arbitrarily, and arbitrary bytes are posted, under both capture
error behaviours; each is answered 200 with its results or 400, and
nothing else.
"""
from xml.sax.saxutils import escape

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.controltower.factories import source_token

from .epcis_docs import STORE_GLN, document, event
from .factories import LocationFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=120, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = ["type", "eventID", "eventTime", "eventTimeZoneOffset", "action", "bizStep", "disposition", "readPoint",
          "bizLocation", "epcList", "quantityList", "bizTransactionList", "sourceList", "destinationList",
          "errorDeclaration", "ilmd", "childEPCs", "parentID", "persistentDisposition", "example:x"]
scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.floats() | st.text(
    max_size=20) | st.sampled_from([
        "", "\x00", "ObjectEvent", "AggregationEvent", "OBSERVE", "ADD", "shipping", "receiving", "retail_selling",
        "urn:epcglobal:cbv:bizstep:cycle_counting", "https://ref.gs1.org/cbv/Disp-returned", "destroyed",
        "location", "desadv", "urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgln:4012345.00001.0",
        "urn:epc:class:lgtin:4012345.022222.L", "https://id.gs1.org/01/04012345111118/21/9", "KGM",
        "2026-11-23T10:15:00+01:00", "9999-12-31T23:59:59-14:00", "+01:00", "ni:///sha-256;x?ver=CBV2.0",
        "x" * 300])
json_values = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "epcClass", "quantity", "uom", "type", "bizTransaction", "source", "destination",
                         "declarationTime", "reason", "correctiveEventIDs", "set", "unset", "other"]), kids,
        max_size=4),
    max_leaves=12,
)
events = st.builds(lambda base, changes: {**base, **changes}, st.just(event()),
                   st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4)) | json_values
json_documents = st.builds(lambda evs: json.dumps(document(*evs)).encode(),
                           st.lists(events, max_size=4))

ELEMENTS = ["ObjectEvent", "eventTime", "eventTimeZoneOffset", "eventID", "epcList", "epc", "action", "bizStep",
            "disposition", "bizLocation", "id", "quantityList", "quantityElement", "epcClass", "quantity", "uom",
            "bizTransactionList", "bizTransaction", "destinationList", "destination", "errorDeclaration",
            "declarationTime", "extension"]
xml_texts = st.text(max_size=15) | st.sampled_from(
    ["OBSERVE", "urn:epcglobal:cbv:bizstep:shipping", "2026-11-23T10:15:00+01:00", "+01:00", "2.5", "NaN",
     "urn:epc:id:sgtin:4012345.011111.1", "urn:epc:id:sgln:4012345.00001.0"])
trees = st.recursive(
    st.tuples(st.sampled_from(ELEMENTS), xml_texts, st.just([])),
    lambda kids: st.tuples(st.sampled_from(ELEMENTS), xml_texts, st.lists(kids, max_size=5)),
    max_leaves=25,
)


def xml(tree):
    name, text, kids = tree
    return f"<{name}>{escape(text)}{''.join(xml(kid) for kid in kids)}</{name}>"


xml_documents = st.builds(
    lambda trees: ('<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"><EPCISBody><EventList>'
                   + "".join(xml(tree) for tree in trees) + "</EventList></EPCISBody></epcis:EPCISDocument>"
                   ).encode("utf-8", "surrogatepass"),
    st.lists(trees, max_size=3),
)


@pytest.fixture
def rfid():
    LocationFactory(code="S001", gln=STORE_GLN)
    return SourceSystemFactory(code="RFID", kind="wms")


@EXAMPLES
@given(body=json_documents | st.binary(max_size=200), behaviour=st.sampled_from(["rollback", "proceed"]))
def test_no_json_document_answers_500(api_client, rfid, body, behaviour):
    answered(api_client, rfid, body, "application/ld+json", behaviour)


@EXAMPLES
@given(body=xml_documents | st.binary(max_size=200), behaviour=st.sampled_from(["rollback", "proceed"]))
def test_no_xml_document_answers_500(api_client, rfid, body, behaviour):
    answered(api_client, rfid, body, "application/xml", behaviour)


def answered(client, source, body, content_type, behaviour):
    response = client.post("/api/v1/epcis/capture", data=body, content_type=content_type,
                           HTTP_AUTHORIZATION=f"Token {source_token(source)}",
                           HTTP_GS1_CAPTURE_ERROR_BEHAVIOUR=behaviour)
    assert response.status_code in (200, 400), response.content
    answer = response.json()
    if response.status_code == 200:
        assert {result["status"] for result in answer["results"]} <= {
            "accepted", "duplicate", "conflict", "rejected", "ignored"}
    else:
        assert answer["detail"] and "\n" not in answer["detail"]
