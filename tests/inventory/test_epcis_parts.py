"""The pieces of the EPCIS adapter: GS1 keys, CBV words, the event hash,
safe XML and GS1's vendored schema (inventory.adapters.epcis)."""
import json

import pytest

from inventory.adapters import Unparseable
from inventory.adapters.epcis import checks, hashing, identifiers, vocabulary, xml

from .epcis_docs import SAMPLES, document, event


@pytest.mark.parametrize("uri, gtin, instance", [
    ("urn:epc:id:sgtin:0614141.812345.6789", "80614141123458", True),  # GS1 TDS's example
    ("https://id.gs1.org/01/80614141123458/21/6789", "80614141123458", True),
    ("https://brand.example.com/01/4012345111118/21/X1", "04012345111118", True),
    ("urn:epc:class:lgtin:4012345.012345.998877", "04012345123456", False),
    ("urn:epc:idpat:sgtin:4012345.012345.*", "04012345123456", False),
    ("https://id.gs1.org/01/04012345123456/10/L1", "04012345123456", False),
])
def test_an_sgtin_or_a_gtin_class_names_its_gtin_14(uri, gtin, instance):
    assert identifiers.trade_item(uri) == identifiers.TradeItem(gtin, instance)


@pytest.mark.parametrize("uri", ["urn:epc:id:sscc:0614141.1234567890", "urn:epc:id:grai:0614141.12345.400",
                                 "urn:example:item:1", 42, None])
def test_what_is_not_a_trade_item_names_no_gtin(uri):
    assert identifiers.trade_item(uri) is None


@pytest.mark.parametrize("uri, gln", [
    ("urn:epc:id:sgln:0614141.12345.400", "0614141123452"),  # GS1 TDS's example
    ("urn:epc:id:sgln:4012345.00001.0", "4012345000016"),
    ("https://id.gs1.org/414/0614141123452/254/400", "0614141123452"),
    ("0614141123452", "0614141123452"),
])
def test_an_sgln_names_its_gln(uri, gln):
    assert identifiers.gln(uri) == gln
    assert identifiers.place(uri) == gln


def test_a_place_without_a_gln_is_the_sources_own_id():
    assert identifiers.place("urn:acme:store:17") == "urn:acme:store:17"


@pytest.mark.parametrize("value", ["shipping", "urn:epcglobal:cbv:bizstep:shipping",
                                   "https://ref.gs1.org/cbv/BizStep-shipping", "cbv:BizStep-shipping"])
def test_a_business_step_reads_the_same_in_its_three_spellings(value):
    assert vocabulary.word(value, "bizStep") == "shipping"


def test_a_companys_own_uri_is_allowed_without_a_cbv_meaning():
    assert vocabulary.word("https://example.com/steps/tasting", "bizStep") is None


@pytest.mark.parametrize("value, message", [
    ("transforming", "'transforming' is not a CBV business step; a business step of one's own must be a URI"),
    ("urn:epcglobal:cbv:bizstep:transforming", "is not a CBV business step"),
    ("https://ref.gs1.org/cbv/Disp-in_transit", "is not a CBV business step"),
])
def test_a_word_outside_the_cbv_is_refused(value, message):
    with pytest.raises(vocabulary.NotInVocabulary, match=message):
        vocabulary.word(value, "bizStep")


def test_the_event_hash_is_the_same_in_xml_and_json_ld_and_in_any_field_order():
    from_xml = xml.event(xml.document(xml.parse((SAMPLES / "shipping.xml").read_bytes()))[0])
    from_json = dict(reversed(list(from_xml.items())))
    from_json.pop("{https://acme.example.com/epcis/}carrier")
    from_json["acme:carrier"] = "DHL"
    from_json["bizStep"] = "shipping"  # the bare word of JSON-LD for the URN of XML
    from_json["disposition"] = "https://ref.gs1.org/cbv/Disp-in_transit"

    prefixes = {"acme": "https://acme.example.com/epcis/"}
    assert hashing.event_hash(from_json, prefixes) == hashing.event_hash(from_xml)
    assert hashing.event_hash(from_xml).startswith("ni:///sha-256;")
    assert hashing.event_hash(from_xml).endswith("?ver=CBV2.0")


def test_the_event_hash_leaves_out_the_event_id_and_the_error_declaration_but_not_the_goods():
    plain = event(epcList=["urn:epc:id:sgtin:4012345.011111.1"])
    declared = dict(plain, eventID="urn:uuid:1", recordTime="2026-11-24T00:00:00Z",
                    errorDeclaration={"declarationTime": "2026-11-24T00:00:00Z"})
    more = dict(plain, epcList=plain["epcList"] + ["urn:epc:id:sgtin:4012345.011111.2"])

    assert hashing.event_hash(declared) == hashing.event_hash(plain)
    assert hashing.event_hash(more) != hashing.event_hash(plain)
    assert "eventTime=2026-11-23T09:15:00.000Z" in hashing.pre_hash(plain)
    assert "epcListepc=https://id.gs1.org/01/04012345111118/21/1" in hashing.pre_hash(plain)
    assert "bizLocationid=https://id.gs1.org/414/4012345000016" in hashing.pre_hash(plain)


@pytest.mark.parametrize("body", [
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><d>&b;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://example.com/d.dtd"><d/>',
])
def test_xml_declaring_entities_or_a_dtd_is_refused_without_expanding_them(body):
    with pytest.raises(Unparseable, match="declares a DTD or entities") as refused:
        xml.parse(body)

    assert "root:" not in str(refused.value) and "aaaa" not in str(refused.value)


def test_the_vendored_schema_is_gs1s_with_its_disclaimer():
    schema = json.loads((checks.GS1 / "EPCIS-JSON-Schema.json").read_text())

    assert schema["$id"] == "https://gs1.github.io/EPCIS/EPCIS-JSON-Schema.json"
    assert "GS1 STANDARDS ARE PROVIDED" in (checks.GS1 / "DISCLAIMER").read_text()
    assert (checks.GS1 / "epcis-context.jsonld").exists()


def test_the_schema_checks_dates_and_lets_a_sensor_report_carry_an_exception_without_a_type():
    report = {"exception": "ALARM_CONDITION", "booleanValue": True}
    valid = document(event(sensorElementList=[{"sensorReport": [report]}]))
    late = document(event(eventTime="22-07-2026"))

    assert checks.schema_errors(valid) == ({}, [])
    assert checks.schema_errors(late)[0][0][0] == ("eventTime", '"22-07-2026" is not a valid date-time.')


@pytest.mark.parametrize("fields, field, message", [
    ({"bizStep": "transforming"}, "bizStep", "is not a CBV business step"),
    ({"disposition": "in_transport"}, "disposition", "is not a CBV disposition"),
    ({"action": "CREATE"}, "action", "one of OBSERVE, ADD, DELETE"),
    ({"eventTime": None}, "eventTime", "eventTime is required"),
    ({"epcList": None}, "epcList", "give epcList or quantityList"),
    ({"ilmd": {"materialType": "soil"}}, "ilmd.materialType", "must be namespaced"),
    ({"madeUp": 1}, "madeUp", "an extension field must be namespaced"),
    ({"quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.L1", "quantity": "2"}]},
     "quantityList[0].quantity", "quantity must be a number"),
    ({"destinationList": [{"type": "place", "destination": "urn:epc:id:sgln:4012345.00002.0"}]},
     "destinationList[0].type", "is not a CBV source/destination type"),
])
def test_the_semantic_checks_name_the_field(fields, field, message):
    errors = checks.semantic_errors(event(**fields))

    assert errors and errors[0][0] == field
    assert message in errors[0][1]


@pytest.mark.parametrize("body, field, message", [
    (b"<ObjectEvent><eventTimeZoneOffset>+01:00</eventTimeZoneOffset><action>ADD</action></ObjectEvent>",
     "eventTime", "<eventTime> is required in an ObjectEvent."),
    (b"<ObjectEvent><action>ADD</action><eventTime>2026-11-23T10:15:00Z</eventTime></ObjectEvent>",
     "eventTime", "<eventTime> must come before <action>"),
    (b"<ObjectEvent><eventTime>2026-11-23T10:15:00Z</eventTime><colour>red</colour></ObjectEvent>",
     "colour", "an extension element must be in a namespace of its own"),
])
def test_xml_breaking_the_xsds_structure_names_the_element(body, field, message):
    with pytest.raises(xml.XmlEventError, match=message) as refused:
        xml.event(xml.document(xml.parse(body))[0])

    assert refused.value.field == field


def test_a_schema_error_of_any_keyword_names_its_field():
    twice = "urn:epc:id:sgtin:4012345.011111.1"
    errors, whole = checks.schema_errors(document(event(epcList=[twice, twice])))

    assert whole == []
    assert errors[0][0] == ("epcList", f"['{twice}', '{twice}'] has non-unique elements")
