"""The exceptions metrics of the registry (exceptions.metrics), each on small
hand-built cases whose right value is known: no data is None, the scope
narrows (cases of no location count for the whole estate only), cases are
taken as they stood at the end of the window."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from pathlib import Path

import pytest

from controltower.metrics import Scope, Window, get, measure, measure_together
from controltower.models import Role
from exceptions.models import Case, DuplicateVerdict
from exceptions.reconciliation.feeds import stale_feed
from inventory import ledger
from inventory.models import InventoryEvent
from inventory.sources import control_tower_source
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory
from tests.records import records_behind

pytestmark = pytest.mark.django_db

UNTIL = datetime(2026, 11, 20, 12, 0, tzinfo=dt_timezone.utc)
HOUR = timedelta(hours=1)
ESTATE = Scope()
AS_OF = Window(since=None, until=UNTIL)


@pytest.fixture
def stores():
    return LocationFactory(code="S001"), LocationFactory(code="S002")


def case(location, severity=3, opened=-HOUR, resolved=None, due=None, **extra):
    """A case opened (and resolved, due) at offsets from UNTIL."""
    return CaseFactory(
        location=location, severity=severity, opened_at=UNTIL + opened,
        status=Case.Status.RESOLVED if resolved is not None else Case.Status.OPEN,
        resolved_at=None if resolved is None else UNTIL + resolved,
        resolution_due_at=None if due is None else UNTIL + due, **extra,
    )


def records(client, url):
    """The records behind a records URL, as an admin reads them (tests.records)."""
    return records_behind(client, url, make_user(Role.ADMIN, username="records-admin"))


class TestOpenCases:
    def test_active_at_the_end_of_the_window_by_severity_and_location(self, stores, client):
        a, b = stores
        case(a, severity=1)
        case(a, severity=1, resolved=HOUR)  # resolved after until: still open then
        case(a, severity=1, resolved=-timedelta(minutes=1))  # resolved before: not open
        case(a, severity=1, opened=timedelta(0))  # opened at until: the next window's
        case(b, severity=1)
        case(a, severity=2)
        case(None, severity=1, kind="stale_feed", sku=None, fingerprint="stale_feed|POS")  # no location

        at_a = measure("open_sev1_cases", Scope.of(locations=[a.pk]), AS_OF)
        assert (at_a.value, at_a.reading.sample, at_a.text) == (Decimal(2), 2, "2")
        assert measure("open_sev1_cases", Scope.of(locations=[a.pk, b.pk]), AS_OF).value == Decimal(3)
        assert measure("open_sev1_cases", ESTATE, AS_OF).value == Decimal(4)  # with the location-less case
        assert measure("open_sev2_cases", Scope.of(locations=[b.pk]), AS_OF).value == Decimal(0)
        listed = records(client, measure("open_sev1_cases", Scope.of(locations=[b.pk]), AS_OF).reading.records_url)
        assert [row["location"] for row in listed] == ["S002"]

    def test_none_open_is_zero_but_no_locations_is_no_data(self, stores):
        assert measure("open_sev1_cases", Scope.of(locations=[stores[0].pk]), AS_OF).value == Decimal(0)
        assert measure("open_sev2_cases", Scope.of(locations=[]), AS_OF).value is None


class TestSlaAttainment:
    def test_resolved_by_the_due_time_over_resolved_with_a_target(self, stores, client):
        a, b = stores
        window = Window(since=UNTIL - 24 * HOUR, until=UNTIL)
        case(a, opened=-10 * HOUR, resolved=-2 * HOUR, due=-HOUR)  # in time
        case(a, opened=-10 * HOUR, resolved=-2 * HOUR, due=-2 * HOUR)  # at the due time: in time
        case(a, opened=-10 * HOUR, resolved=-HOUR, due=-2 * HOUR)  # late
        case(a, opened=-10 * HOUR, resolved=-HOUR)  # no target: left out
        case(a, opened=-50 * HOUR, resolved=-30 * HOUR, due=-40 * HOUR)  # resolved before the window
        case(a, opened=-10 * HOUR, resolved=timedelta(0), due=HOUR)  # resolved at until: the next window
        case(a, opened=-10 * HOUR, due=HOUR)  # not resolved
        case(b, opened=-10 * HOUR, resolved=-HOUR, due=-2 * HOUR)  # late, elsewhere

        at_a = measure("sla_attainment", Scope.of(locations=[a.pk]), window)
        assert (at_a.value, at_a.reading.sample) == (Decimal(200) / 3, 3)
        assert at_a.reading.detail == {"in_time": 2, "late": 1}
        assert measure("sla_attainment", ESTATE, window).value == Decimal(50)
        assert len(records(client, at_a.reading.records_url)) == 4  # the three and the one without a target

    def test_nothing_resolved_with_a_target_is_no_data(self, stores):
        case(stores[0], resolved=-HOUR)
        assert measure("sla_attainment", ESTATE, AS_OF).value is None


class TestCaseAging:
    def test_nearest_rank_p90_of_the_age_of_active_cases(self, stores):
        a, b = stores
        for hours in range(1, 11):  # ages 1..10 h: rank 9 of 10
            case(a, opened=-hours * HOUR)
        case(a, opened=-100 * HOUR, resolved=-HOUR)  # resolved: not active
        case(b, opened=-50 * HOUR)
        at_a = measure("case_aging_p90", Scope.of(locations=[a.pk]), AS_OF)
        assert (at_a.value, at_a.reading.sample) == (Decimal(9 * 3600), 10)
        assert measure("case_aging_p90", ESTATE, AS_OF).value == Decimal(10 * 3600)  # rank 10 of 11
        # As of an hour earlier: the 1 h case opens at that end (the next window's) and the
        # 100 h case is resolved exactly then, so still active: ages 1..9 h and 99 h, rank 9 of 10.
        earlier = measure("case_aging_p90", Scope.of(locations=[a.pk]), Window(None, UNTIL - HOUR))
        assert (earlier.value, earlier.reading.sample) == (Decimal(9 * 3600), 10)
        # Two hours earlier still: ages 1..8 h and 98 h, rank 9 of 9 is the 98 h case.
        assert measure("case_aging_p90", Scope.of(locations=[a.pk]), Window(None, UNTIL - 2 * HOUR)
                       ).value == Decimal(98 * 3600)

    def test_no_active_case_is_no_data(self, stores):
        case(stores[0], resolved=-timedelta(minutes=1))
        assert measure("case_aging_p90", ESTATE, AS_OF).value is None
        assert measure("case_aging_p50", ESTATE, AS_OF).value is None

    def test_p50_is_the_same_rule_at_the_median(self, stores):
        a, b = stores
        for hours in range(1, 11):  # ages 1..10 h: rank 5 of 10 counted from the youngest
            case(a, opened=-hours * HOUR)
        case(b, opened=-50 * HOUR)
        at_a = measure("case_aging_p50", Scope.of(locations=[a.pk]), AS_OF)
        assert (at_a.value, at_a.reading.sample) == (Decimal(5 * 3600), 10)
        assert measure("case_aging_p50", ESTATE, AS_OF).value == Decimal(6 * 3600)  # rank 6 of 11

    def test_both_percentiles_read_together_are_each_read_alone(self, stores):
        """A screen showing both percentiles reads them in one query (measure_together): the
        same values, counts and links as each metric read by itself, per scope."""
        a, b = stores
        for hours in (1, 2, 3, 5, 8, 13, 21):
            case(a, opened=-hours * HOUR)
        case(b, opened=-50 * HOUR)
        case(b, opened=-3 * HOUR, resolved=-HOUR)
        scopes = [Scope.of(locations=[a.pk]), Scope.of(locations=[b.pk]), Scope.of(locations=[a.pk, b.pk]),
                  Scope.of(locations=[]), ESTATE]
        keys = ["case_aging_p90", "open_sev2_cases", "case_aging_p50"]
        together = measure_together(keys, scopes, AS_OF)
        assert list(together) == ["case_aging_p90", "case_aging_p50", "open_sev2_cases"]
        for key in keys:
            assert together[key] == get(key).measure_many(scopes, AS_OF)
        # ages 1, 2, 3, 5, 8, 13, 21 h at a: rank 4 of 7 (p50) and rank 7 of 7 (p90)
        assert [r.value for r in together["case_aging_p50"][:2]] == [Decimal(5 * 3600), Decimal(50 * 3600)]
        assert [r.value for r in together["case_aging_p90"][:2]] == [Decimal(21 * 3600), Decimal(50 * 3600)]
        assert together["case_aging_p90"][3].value is None


class TestDaysSinceLastSev1:
    def test_days_from_the_latest_severity_1_opening(self, stores):
        a, b = stores
        case(a, severity=1, opened=-timedelta(days=5), resolved=-timedelta(days=4))
        case(a, severity=1, opened=-timedelta(days=2, hours=12))
        case(a, severity=1, opened=timedelta(hours=1))  # after until
        case(a, severity=2, opened=-HOUR)
        measured = measure("days_since_last_sev1", Scope.of(locations=[a.pk]), AS_OF)
        assert (measured.value, measured.reading.sample, measured.text) == (Decimal("2.50"), 2, "2.5 days")
        assert measure("days_since_last_sev1", Scope.of(locations=[b.pk]), AS_OF).value is None  # no case yet

    def test_never_a_severity_1_counts_from_the_first_case(self, stores):
        a, _b = stores
        case(a, severity=3, opened=-timedelta(days=6), resolved=-timedelta(days=5))
        case(a, severity=2, opened=-timedelta(days=1))
        measured = measure("days_since_last_sev1", Scope.of(locations=[a.pk]), AS_OF)
        assert (measured.value, measured.reading.sample) == (Decimal("6.00"), 0)
        assert "no_severity_1_since" in measured.reading.detail


class TestStaleFeeds:
    def test_sources_silent_beyond_their_interval_as_of_the_end_of_the_window(self, stores):
        fresh = SourceSystemFactory(code="FRESH", expected_interval_s=900, last_event_at=UNTIL - timedelta(minutes=10))
        silent = SourceSystemFactory(code="SILENT", expected_interval_s=900, last_event_at=UNTIL - HOUR)
        never = SourceSystemFactory(code="NEVER")
        SourceSystemFactory(code="OFF", active=False)
        measured = measure("stale_feeds", ESTATE, AS_OF)
        assert (measured.value, measured.reading.sample) == (Decimal(2), 3)
        assert measured.reading.detail == {"stale": ["NEVER", "SILENT"]}
        # The same rule as the stale_feed cases at that time.
        assert sorted(f.reference for f in stale_feed(UNTIL)) == ["NEVER", "SILENT"]
        assert measure("stale_feeds", Scope.of(sources=[fresh.pk]), AS_OF).value == Decimal(0)
        assert measure("stale_feeds", Scope.of(sources=[silent.pk, never.pk]), AS_OF).value == Decimal(2)
        assert measure("stale_feeds", Scope.of(sources=[]), AS_OF).value is None

    def test_a_past_end_reads_what_the_ledger_had_received_by_then(self, stores):
        till = SourceSystemFactory(code="TILL", expected_interval_s=900)
        sku = SKUFactory(code="SKU1")
        for txn, received in (("a", UNTIL - 2 * HOUR), ("b", UNTIL + HOUR)):
            report = ledger.ingest_events(till, [{
                "transaction_id": txn, "type": "receipt", "location": stores[0].code, "sku": sku.code,
                "quantity": 1, "occurred_at": (received - timedelta(minutes=1)).isoformat(),
            }], received_at=received)
            assert report.counts["accepted"] == 1
        scope = Scope.of(sources=[till.pk])
        assert measure("stale_feeds", scope, AS_OF).value == Decimal(1)  # silent for 2 h at UNTIL
        assert measure("stale_feeds", scope, Window(None, UNTIL - 2 * HOUR + timedelta(minutes=5))).value == 0
        assert measure("stale_feeds", scope, Window(None, UNTIL + HOUR)).value == 0


class TestDuplicateTransactionRate:
    def sale(self, txn, store, sku, occurred_at, quantity=1):
        return {"transaction_id": txn, "type": "sale", "location": store.code, "sku": sku.code,
                "quantity": quantity, "occurred_at": occurred_at.isoformat()}

    def test_acknowledged_and_confirmed_duplicates_over_events_received(self, stores, client):
        store, sku = stores[0], SKUFactory(code="SKU1")
        till, web = SourceSystemFactory(code="TILL"), SourceSystemFactory(code="WEB")
        at = UNTIL - 3 * HOUR
        sales = [self.sale(txn, store, sku, at + timedelta(minutes=n)) for n, txn in enumerate("abcd")]
        assert ledger.ingest_events(till, sales, received_at=at + HOUR).counts["accepted"] == 4
        # Later that day: `a` again (acknowledged) and `d` again under a new id, which a person reverses.
        replay = sales[3] | {"transaction_id": "d-again"}
        assert ledger.ingest_events(till, [sales[0], replay], received_at=at + 2 * HOUR).counts == {
            "accepted": 1, "duplicate": 1, "conflict": 0, "rejected": 0}
        ledger.ingest_events(web, [self.sale("w1", store, sku, at), self.sale("w2", store, sku, at)],
                             received_at=at + HOUR)
        DuplicateVerdict.objects.create(
            earlier_event=InventoryEvent.objects.get(transaction_id="d"),
            later_event=InventoryEvent.objects.get(transaction_id="d-again"),
            verdict=DuplicateVerdict.Verdict.REVERSED, case=CaseFactory(location=store, kind="suspected_duplicate"),
            decided_by=make_user(Role.ADMIN, username="decider"), decided_at=UNTIL,
        )
        # The tower's own lines are no feed: left out of the estate.
        ledger.ingest_events(control_tower_source(), [self.sale("t1", store, sku, at)], received_at=at + HOUR)

        day = Window(since=UNTIL - 24 * HOUR, until=UNTIL)
        at_till = measure("duplicate_transaction_rate", Scope.of(sources=[till.pk]), day)
        assert (at_till.value, at_till.reading.sample) == (Decimal(200) / 6, 6)
        assert at_till.reading.detail == {"acknowledged": 1, "confirmed": 1, "received": 6}
        assert measure("duplicate_transaction_rate", ESTATE, day).value == Decimal(25)  # 2 of 8
        listed = records(client, at_till.reading.records_url)
        assert [(r["Source"], r["Received"]) for r in listed] == [("TILL", "6")]

    def test_the_window_reads_whole_utc_days_and_no_events_is_no_data(self, stores):
        till, sku = SourceSystemFactory(code="TILL"), SKUFactory(code="SKU1")
        received = datetime(2026, 11, 20, 10, 0, tzinfo=dt_timezone.utc)
        sale = self.sale("a", stores[0], sku, received - HOUR)
        ledger.ingest_events(till, [sale], received_at=received)
        ledger.ingest_events(till, [sale], received_at=received + HOUR)
        scope = Scope.of(sources=[till.pk])
        noon = datetime(2026, 11, 20, 12, 0, tzinfo=dt_timezone.utc)  # after both: the day is read whole
        assert measure("duplicate_transaction_rate", scope, Window(noon, noon + HOUR)).value == Decimal(50)
        midnight = datetime(2026, 11, 21, tzinfo=dt_timezone.utc)
        assert measure("duplicate_transaction_rate", scope, Window(None, midnight)).value == Decimal(50)
        assert measure("duplicate_transaction_rate", scope, Window(midnight, midnight + HOUR)).value is None
        assert measure("duplicate_transaction_rate", Scope.of(sources=[]), AS_OF).value is None


@pytest.mark.parametrize("key", [
    "open_sev1_cases", "open_sev2_cases", "sla_attainment", "case_aging_p50", "case_aging_p90", "days_since_last_sev1",
    "stale_feeds",
    "duplicate_transaction_rate",
])
def test_the_metrics_reference_gives_each_metric_its_registry_definition(key):
    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "metrics.md").read_text()
    metric = get(key)
    assert f"### {key}\n\n**{metric.label}.** {metric.definition}\n" in page
