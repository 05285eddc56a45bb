"""Property: whatever JSON a source sends, every item gets an answer.

The event, snapshot-line and PO-line validators are fed arbitrary JSON
values (and objects shaped like the real thing with arbitrary values in
their fields); each item must come back accepted, duplicate, conflict or
rejected with field errors, and no call may raise.
"""
from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.ledger import ingest_events
from inventory.purchase_orders import import_po_lines
from inventory.snapshots import SnapshotError, ingest_snapshot
from tests.inventory.factories import (
    LocationFactory,
    SKUFactory,
    SourceSystemFactory,
    UnitConversionFactory,
)

pytestmark = pytest.mark.django_db

EXAMPLES = settings(
    max_examples=150, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Any JSON value, with the awkward corners weighted in: huge and tiny
# numbers, NUL and other control characters, deep nesting.
scalars = (
    st.none() | st.booleans()
    | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "\x00", "1e999999", "-0", "١٢", "1_0", "NaN", "S001", "SKU00001", "EA",
                       "CS12", "available", "reserved", "2026-11-23T10:00:00+01:00",
                       "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-14:00", "sale", "receipt"])
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)

EVENT_FIELDS = ["transaction_id", "type", "location", "sku", "barcode", "quantity", "unit", "occurred_at",
                "from_state", "to_state", "reference", "to_location", "reason"]
LINE_FIELDS = ["location", "sku", "barcode", "quantity", "unit", "state", "value"]
PO_FIELDS = ["po_number", "line", "location", "sku", "quantity", "expected_at", "status"]


def shaped(names):
    """Objects with the real field names and arbitrary values."""
    return st.dictionaries(st.sampled_from(names), json_values, max_size=len(names))


@pytest.fixture
def master():
    LocationFactory(code="S001")
    sku = SKUFactory(code="SKU00001")
    LocationFactory(code="S002")
    UnitConversionFactory(sku=sku, unit="CS12", factor=12)
    return SourceSystemFactory(code="POS-PROP")


def assert_answered(results):
    for result in results:
        assert result.status in {"accepted", "duplicate", "conflict", "rejected"}
        if result.status in {"rejected", "conflict"}:
            assert result.errors and all(
                isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages)
                for messages in result.errors.values()
            ), result.errors


@EXAMPLES
@given(events=st.lists(shaped(EVENT_FIELDS) | json_values, max_size=6))
def test_every_event_gets_an_answer(master, events):
    report = ingest_events(master, events)

    assert len(report.results) == len(events)
    assert_answered(report.results)


@EXAMPLES
@given(events=st.lists(shaped(EVENT_FIELDS), min_size=1, max_size=4))
def test_events_near_valid_get_an_answer(master, events):
    recent = (timezone.now() - timedelta(hours=1)).isoformat()
    base = {"transaction_id": "T", "type": "sale", "location": "S001", "sku": "SKU00001", "quantity": 1,
            "occurred_at": recent}
    report = ingest_events(master, [{**base, **event} for event in events])

    assert_answered(report.results)


@EXAMPLES
@given(as_of=json_values, lines=st.lists(shaped(LINE_FIELDS) | json_values, max_size=6))
def test_every_snapshot_line_gets_an_answer(master, as_of, lines):
    try:
        report = ingest_snapshot(master, as_of, lines)
    except SnapshotError as exc:  # the envelope (as_of) is refused as a whole, with a reason
        assert "as_of" in str(exc)
        return
    assert report.counts["received"] == len(lines)
    for rejected in report.rejected:
        assert rejected["errors"] and all(isinstance(m, list) for m in rejected["errors"].values())


@EXAMPLES
@given(lines=st.lists(shaped(LINE_FIELDS), max_size=6))
def test_snapshot_lines_with_a_good_time_get_an_answer(master, lines):
    recent = (timezone.now() - timedelta(hours=1)).isoformat()
    report = ingest_snapshot(master, recent, lines)

    assert report.counts["accepted"] + report.counts["rejected"] == len(lines)


@EXAMPLES
@given(rows=st.lists(shaped(PO_FIELDS) | json_values, max_size=6))
def test_every_po_line_gets_an_answer(master, rows):
    report = import_po_lines(rows)

    assert report.counts["received"] == len(rows)
    assert report.counts["accepted"] + report.counts["rejected"] == len(rows)
    for rejected in report.rejected:
        assert rejected["errors"] and all(isinstance(m, list) for m in rejected["errors"].values())
