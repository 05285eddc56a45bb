"""Suspected duplicates found without noise: a replay shares its business
reference, its content and its time, and comes within the source's replay
window; a confirmed one is reversed from the case in one action, an
explained one is never raised again, and either case clears itself."""
from datetime import timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from controltower.models import Role
from exceptions import reconciliation
from exceptions.findings import CaseKind
from exceptions.models import Case, CaseHistory, CaseLink, DuplicateVerdict
from exceptions.reconciliation import run_reconciliation
from exceptions.services import actions, duplicates
from exceptions.services.changes import NotAllowed
from inventory.ledger import fold_ledger, ingest_events, rebuild_positions
from inventory.models import EventType, InventoryEvent, Position, RejectedEvent, SourceSystem, Transfer
from inventory.rollups import transfer_days_changed_since
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def sale(txn, location, sku, at, quantity=1, **extra):
    return {"transaction_id": txn, "type": "sale", "location": location.code, "sku": sku.code,
            "quantity": quantity, "occurred_at": at.isoformat(), **extra}


@pytest.fixture
def till():
    return SourceSystemFactory(code="TILL", kind=SourceSystem.Kind.POS)


@pytest.fixture
def sku():
    return SKUFactory(code="SKU-D", unit_cost=Decimal("4.00"))


def duplicate_cases():
    return Case.objects.filter(kind=CaseKind.SUSPECTED_DUPLICATE)


def replayed_receipt(till, store, sku, minutes_later=5):
    """Receipt R-1 sold 2 units; the till resends it under a new id
    `minutes_later`, stamped with the time it resends."""
    sold = NOW - timedelta(minutes=30)
    resent = sold + timedelta(minutes=minutes_later)
    ingest_events(till, [sale("T-1", store, sku, sold, 2, reference="R-1")], received_at=sold)
    ingest_events(till, [sale("T-1-resent", store, sku, resent, 2, reference="R-1")], received_at=resent)


# --- the rule ------------------------------------------------------------------------

def test_ten_single_unit_sales_30_s_apart_open_no_case(till, sku):
    store = LocationFactory()
    start = NOW - timedelta(minutes=20)
    for n in range(10):  # each with its own receipt
        at = start + timedelta(seconds=30 * n)
        ingest_events(till, [sale(f"R{n}", store, sku, at, reference=f"RECEIPT-{n}")], received_at=at)
    other = LocationFactory()
    for n in range(10):  # no references: their times tell them apart
        at = start + timedelta(seconds=30 * n)
        ingest_events(till, [sale(f"N{n}", other, sku, at)], received_at=at)

    assert reconciliation.suspected_duplicate() == []
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).opened == []


def test_a_receipt_replayed_under_a_new_id_5_minutes_later_opens_one_case(till, sku):
    store = LocationFactory(code="S-DUP")
    replayed_receipt(till, store, sku)

    report = run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)

    case = duplicate_cases().get()
    assert report.opened == [case.pk]
    assert case.details["transactions"] == ["TILL:T-1", "TILL:T-1-resent"]
    assert case.details["business_reference"] == "R-1"
    assert case.details["received_seconds_apart"] == 300
    assert case.details["window_seconds"] == 3600
    assert "Sale of 2 SKU-D at S-DUP (R-1)" in case.summary
    assert "received again 300 s later under another transaction id: TILL:T-1 and TILL:T-1-resent" in case.summary
    assert (case.quantity_at_risk, case.value_at_risk) == (2, Decimal("8.00"))
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).opened == []


def test_without_a_reference_a_replay_shares_the_time_it_occurred(till, sku):
    store = LocationFactory()
    sold = NOW - timedelta(minutes=30)
    ingest_events(till, [sale("A", store, sku, sold)], received_at=sold)
    ingest_events(till, [sale("A-again", store, sku, sold)], received_at=sold + timedelta(minutes=5))
    ingest_events(till, [sale("B", store, sku, sold + timedelta(minutes=5))], received_at=sold + timedelta(minutes=5))

    [finding] = reconciliation.suspected_duplicate()
    assert finding.details["transactions"] == ["TILL:A", "TILL:A-again"]


def test_the_lines_of_one_receipt_sent_together_are_not_a_replay(till, sku):
    store = LocationFactory()
    at = NOW - timedelta(minutes=3)
    ingest_events(till, [sale("L1", store, sku, at, reference="R-7"), sale("L2", store, sku, at, reference="R-7"),
                         sale("L3", store, sku, at)], received_at=at)

    assert reconciliation.suspected_duplicate() == []


def test_two_different_business_references_are_never_duplicates(till, sku):
    store = LocationFactory()
    at = NOW - timedelta(minutes=10)
    ingest_events(till, [sale("A", store, sku, at, reference="R-1"), sale("B", store, sku, at, reference="R-2")],
                  received_at=at)

    assert reconciliation.suspected_duplicate() == []


def till_line(store, sku, sequence, at, cashier, line=1):
    """A POSLog line: its receipt (store/workstation/sequence/day) begins its key."""
    receipt = f"{store.code}/1/{sequence}/{at.date().isoformat()}"
    return sale(f"{receipt}/{line}", store, sku, at, reference=receipt, cashier=cashier)


def test_a_till_line_resent_under_a_new_sequence_number_is_suspected(till, sku):
    store = LocationFactory()
    at = NOW - timedelta(minutes=30)
    ingest_events(till, [till_line(store, sku, "100", at, "C1")], received_at=at)
    ingest_events(till, [till_line(store, sku, "100-resent", at, "C1")], received_at=at + timedelta(minutes=5))

    [finding] = reconciliation.suspected_duplicate()
    day = at.date().isoformat()
    assert finding.details["transactions"] == [f"TILL:{store.code}/1/100/{day}/1",
                                               f"TILL:{store.code}/1/100-resent/{day}/1"]


def test_two_customers_buying_the_same_item_at_the_same_second_are_two_sales(till, sku):
    store = LocationFactory()
    at = NOW - timedelta(minutes=30)
    later = at + timedelta(minutes=5)
    ingest_events(till, [till_line(store, sku, "100", at, "C1")], received_at=at)
    ingest_events(till, [
        till_line(store, sku, "200", at, "C2"),  # another cashier at another till, the same second
        till_line(store, sku, "201", at + timedelta(seconds=40), "C1"),  # the next customer of C1
        till_line(store, sku, "202", at, "C1", line=2),  # another line of a receipt
        sale("R-9", store, sku, at, reference="R-9", cashier="C1"),  # a receipt that is not its key's
    ], received_at=later)

    assert reconciliation.suspected_duplicate() == []


def test_the_window_is_the_replaying_sources_own(till, sku):
    store = LocationFactory()
    till.replay_window_s = 120
    till.save()
    replayed_receipt(till, store, sku, minutes_later=5)

    assert reconciliation.suspected_duplicate() == []  # 300 s apart, the till's window is 120 s

    till.replay_window_s = None  # back to the default, 3600 s
    till.save()
    assert len(reconciliation.suspected_duplicate()) == 1


def test_a_case_the_old_rule_opened_clears_when_the_run_looks_again(till, sku):
    store = LocationFactory()
    at = NOW - timedelta(minutes=10)
    ingest_events(till, [sale("A", store, sku, at)], received_at=at)
    ingest_events(till, [sale("B", store, sku, at + timedelta(seconds=30))], received_at=at + timedelta(seconds=30))
    first, second = InventoryEvent.objects.order_by("id")
    old = CaseFactory(kind=CaseKind.SUSPECTED_DUPLICATE, reference=f"events {first.pk}+{second.pk}",
                      location=store, sku=sku)

    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).resolved == [old.pk]


def test_a_pair_older_than_the_look_back_keeps_its_case(till, sku):
    store = LocationFactory()
    long_ago = NOW - timedelta(hours=30)
    ingest_events(till, [sale("A", store, sku, long_ago)], received_at=long_ago)
    ingest_events(till, [sale("B", store, sku, long_ago)], received_at=long_ago + timedelta(seconds=1))
    first, second = InventoryEvent.objects.order_by("id")
    kept = CaseFactory(kind=CaseKind.SUSPECTED_DUPLICATE, reference=f"events {first.pk}+{second.pk}",
                       location=store, sku=sku)

    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).resolved == []
    kept.refresh_from_db()
    assert kept.status == Case.Status.OPEN


# --- reversing the duplicate ---------------------------------------------------------------

@pytest.fixture
def pair(people, till, sku, default_routing):
    """A replayed receipt at the people's store and its open case."""
    replayed_receipt(till, people.store, sku)
    run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)
    return duplicate_cases().get()


def available(store, sku):
    return Position.objects.get(location=store, sku=sku).available


def test_reversing_posts_one_linked_reversal_and_the_case_clears_itself(pair, people, sku):
    manager = people[Role.STORE_MANAGER].owner
    assert available(people.store, sku) == -4
    assert "reverse_duplicate" in actions.allowed_actions(pair, manager)

    verdict = duplicates.reverse_duplicate(pair, manager)
    again = duplicates.reverse_duplicate(pair, manager)  # a double click

    reversal = InventoryEvent.objects.get(type=EventType.REVERSAL)
    later = InventoryEvent.objects.get(transaction_id="T-1-resent")
    assert again == verdict and verdict.reversal == reversal
    assert (reversal.source.code, reversal.transaction_id) == ("CONTROL-TOWER", f"reversal-of-{later.pk}")
    assert (reversal.quantity, reversal.from_state, reversal.reference, reversal.reason) == (
        -2, "available", f"event {later.pk}", "sale")
    assert reversal.occurred_at == later.occurred_at
    assert CaseLink.objects.filter(case=pair, kind="event", object_id=reversal.pk).exists()
    assert CaseHistory.objects.filter(case=pair, action="duplicate_reversed", actor=manager).count() == 1
    assert available(people.store, sku) == -2
    assert rebuild_positions().differences == []
    assert run_reconciliation(CaseKind.PROJECTION_DRIFT).opened == []
    assert "reverse_duplicate" not in actions.allowed_actions(pair, manager)

    report = run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)

    pair.refresh_from_db()
    assert report.resolved == [pair.pk]
    assert (pair.status, pair.auto_resolved) == (Case.Status.RESOLVED, True)
    assert reconciliation.suspected_duplicate() == []  # never raised again
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).opened == []


def test_a_reversal_moves_every_leg_back(people, till, sku, default_routing):
    """A transfer_out's reversal takes the units out of transit at the
    destination and puts them back at the sender; a count since the
    reversed line holds neither, so the reversal does not move that state."""
    dc, store = people.other_store, people.store
    at = NOW - timedelta(hours=1)
    ingest_events(till, [{"transaction_id": "C1", "type": "cycle_count", "location": dc.code, "sku": sku.code,
                          "quantity": 50, "occurred_at": (at - timedelta(hours=1)).isoformat()}], received_at=at)
    shipped = {"type": "transfer_out", "location": dc.code, "to_location": store.code, "sku": sku.code,
               "quantity": 6, "reference": "TR-9", "occurred_at": at.isoformat()}
    ingest_events(till, [{"transaction_id": "X1", **shipped}], received_at=at)
    ingest_events(till, [{"transaction_id": "X1-again", **shipped}], received_at=at + timedelta(minutes=2))
    run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)
    case = duplicate_cases().get()
    before = timezone.now()

    duplicates.reverse_duplicate(case, people[Role.INTEGRATION_ADMIN].owner)

    book = fold_ledger()
    assert book[(dc.pk, sku.pk, "available")] == 44
    assert book[(store.pk, sku.pk, "in_transit")] == 6
    assert rebuild_positions().differences == []
    assert Position.objects.get(location=dc, sku=sku).available == 44
    # The transfer record follows: shipped once, so its receipt closes it; the
    # KPI rollup recomputes the days the reversed line touched.
    assert at.astimezone(dt_timezone.utc).date() in transfer_days_changed_since(before)
    transfer = Transfer.objects.get(reference="TR-9", sku=sku)
    assert (transfer.quantity_shipped, transfer.shipped_at) == (6, at)
    duplicates.reverse_duplicate(case, people[Role.INTEGRATION_ADMIN].owner)  # a second click changes nothing
    assert Transfer.objects.get(reference="TR-9", sku=sku).quantity_shipped == 6
    ingest_events(till, [{"transaction_id": "IN1", "type": "transfer_in", "location": store.code, "sku": sku.code,
                          "quantity": 6, "reference": "TR-9", "occurred_at": NOW.isoformat()}])
    assert reconciliation.transfer_not_received(now=NOW + timedelta(days=10)) == []


def test_explaining_records_who_and_why_and_the_pair_is_never_raised_again(pair, people):
    planner = people[Role.PLANNER].owner
    with pytest.raises(ValidationError) as refused:
        duplicates.explain_duplicate(pair, planner, "  ")
    assert "reason" in refused.value.message_dict
    assert not DuplicateVerdict.objects.exists()

    verdict = duplicates.explain_duplicate(pair, planner, "Two customers, two receipts printed alike")

    assert (verdict.verdict, verdict.decided_by, verdict.note) == (
        "not_duplicate", planner, "Two customers, two receipts printed alike")
    assert not InventoryEvent.objects.filter(type=EventType.REVERSAL).exists()
    with pytest.raises(ValidationError):
        duplicates.reverse_duplicate(pair, planner)
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).resolved == [pair.pk]
    assert reconciliation.suspected_duplicate() == []


def test_who_may_settle_a_pair(pair, people):
    for user in (people[Role.EXECUTIVE].owner, people[Role.STORE_MANAGER].outsider):
        with pytest.raises(NotAllowed):
            duplicates.reverse_duplicate(pair, user)
        with pytest.raises(NotAllowed):
            duplicates.explain_duplicate(pair, user, "no")
    assert not DuplicateVerdict.objects.exists()


def test_only_a_suspected_duplicate_has_a_pair_to_settle(people, default_routing):
    case = CaseFactory(location=people.store)
    manager = people[Role.STORE_MANAGER].owner
    assert not {"reverse_duplicate", "explain_duplicate"} & actions.allowed_actions(case, manager)
    with pytest.raises(ValidationError):
        duplicates.reverse_duplicate(case, manager)


def test_a_source_cannot_send_a_reversal(till, sku):
    store = LocationFactory()
    report = ingest_events(till, [{"transaction_id": "R", "type": "reversal", "location": store.code,
                                   "sku": sku.code, "quantity": -1, "from_state": "available",
                                   "reference": "event 1", "occurred_at": NOW.isoformat()}])

    assert report.counts["rejected"] == 1
    assert "control tower" in RejectedEvent.objects.get().errors["type"][0]
    assert not InventoryEvent.objects.exists()


# --- the screens and the API ---------------------------------------------------------------

def test_the_case_page_reverses_in_one_click(client, pair, people, sku):
    client.force_login(people[Role.STORE_MANAGER].owner)
    page = client.get(f"/cases/{pair.pk}/").content.decode()
    assert "Reverse the duplicate" in page and "Not a duplicate" in page

    response = client.post(f"/cases/{pair.pk}/reverse-duplicate/", HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert response.status_code == 200
    assert "Duplicate, reversed" in body and "Reverse the duplicate" not in body
    assert available(people.store, sku) == -2


def test_the_case_page_asks_why_it_is_not_a_duplicate(client, pair, people):
    client.force_login(people[Role.STORE_MANAGER].owner)

    refused = client.post(f"/cases/{pair.pk}/explain-duplicate/", {"reason": ""}, HTTP_HX_REQUEST="true")
    assert "Say why the two lines are not duplicates." in refused.content.decode()

    done = client.post(f"/cases/{pair.pk}/explain-duplicate/", {"reason": "Two sales"}, HTTP_HX_REQUEST="true")
    assert "Not a duplicate" in done.content.decode() and "Two sales" in done.content.decode()


def test_the_api_reverses_once_and_names_the_missing_reason(api_client, pair, people):
    api_client.force_authenticate(people[Role.REGIONAL_OPS].owner)

    first = api_client.post(f"/api/v1/cases/{pair.pk}/reverse-duplicate")
    second = api_client.post(f"/api/v1/cases/{pair.pk}/reverse-duplicate")

    assert (first.status_code, second.status_code) == (200, 200)
    assert InventoryEvent.objects.filter(type=EventType.REVERSAL).count() == 1
    explained = api_client.post(f"/api/v1/cases/{pair.pk}/explain-duplicate", {}, format="json")
    assert explained.status_code == 400 and "reason" in explained.json()["errors"]

    api_client.force_authenticate(people[Role.EXECUTIVE].owner)
    assert api_client.post(f"/api/v1/cases/{pair.pk}/reverse-duplicate").status_code == 403
    api_client.force_authenticate(people[Role.STORE_MANAGER].outsider)
    assert api_client.post(f"/api/v1/cases/{pair.pk}/explain-duplicate", {"reason": "x"},
                           format="json").status_code == 404


def test_a_reversed_pos_sale_leaves_the_sales_posting_gap(people, till, sku, default_routing):
    erp = SourceSystemFactory(code="ERP", kind=SourceSystem.Kind.ERP)
    yesterday_noon = (NOW - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    store = people.store
    replayed = yesterday_noon + timedelta(minutes=5)
    # Yesterday's receipt comes in an hour ago (an offline till) and again 5 min later: inside
    # the duplicate look-back (24 h of receipt) whatever the time of day the test runs at.
    uploaded = NOW - timedelta(hours=1)
    ingest_events(till, [sale("T-1", store, sku, yesterday_noon, 2, reference="R-1")], received_at=uploaded)
    ingest_events(till, [sale("T-1-resent", store, sku, replayed, 2, reference="R-1")],
                  received_at=uploaded + timedelta(minutes=5))
    ingest_events(erp, [{**sale("P-1", store, sku, yesterday_noon, 2), "type": "sales_posting"}],
                  received_at=yesterday_noon + timedelta(hours=6))
    [gap] = reconciliation.sales_posting_gap()
    assert gap.details["pos_quantity"] - gap.details["erp_quantity"] == 2  # the duplicate, counted as a sale

    run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)
    duplicates.reverse_duplicate(duplicate_cases().get(), people[Role.STORE_MANAGER].owner)

    assert reconciliation.sales_posting_gap() == []


def test_reversing_a_pair_explained_meanwhile_says_so_on_the_page(client, pair, people):
    duplicates.explain_duplicate(pair, people[Role.PLANNER].owner, "Two sales")
    client.force_login(people[Role.STORE_MANAGER].owner)

    response = client.post(f"/cases/{pair.pk}/reverse-duplicate/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "planner-owner explained this pair as not a duplicate." in response.content.decode()
    assert not InventoryEvent.objects.filter(type=EventType.REVERSAL).exists()


def test_no_lane_lets_a_source_send_reversals(till):
    from inventory.lanes import LaneError, set_lane

    with pytest.raises(LaneError, match="unknown event type"):
        set_lane(till, event_types=["sale", "reversal"])


# --- a replayed batch: one case, reversed together (issue 18) -----------------------------------

def replayed_batch(till, store, skus, lines):
    """`lines` sales sent at once, and the same batch sent again under new ids a minute later."""
    at = NOW - timedelta(minutes=20)
    batch = [sale(f"B-{n}", store, skus[n % len(skus)], at - timedelta(seconds=n), reference=f"R-{n}")
             for n in range(lines)]
    ingest_events(till, batch, received_at=at)
    ingest_events(till, [{**line, "transaction_id": f"{line['transaction_id']}-again"} for line in batch],
                  received_at=at + timedelta(minutes=1))


def test_a_batch_sent_again_under_new_ids_is_one_case_listing_its_lines(client, people, till, sku, default_routing):
    skus = [sku, SKUFactory(code="SKU-E")]
    replayed_batch(till, people.store, skus, 30)
    replayed_receipt(till, people.store, sku)  # and one line replayed on its own, elsewhere in time

    report = run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)

    assert len(report.opened) == 2
    batch = duplicate_cases().get(reference__startswith="batch")
    lone = duplicate_cases().exclude(pk=batch.pk).get()
    again = dict(InventoryEvent.objects.filter(transaction_id__endswith="-again").values_list("transaction_id", "id"))
    first = dict(InventoryEvent.objects.filter(transaction_id__startswith="B-").exclude(
        transaction_id__endswith="-again").values_list("transaction_id", "id"))
    assert sorted(map(tuple, batch.details["pairs"])) == sorted((first[t], again[f"{t}-again"]) for t in first)
    assert (batch.details["lines"], batch.quantity_at_risk, batch.location_id, batch.sku_id) == (
        30, 30, people.store.pk, None)
    assert "TILL sent 30 lines again" in batch.summary
    assert lone.reference == f"events {InventoryEvent.objects.get(transaction_id='T-1').pk}+" \
                             f"{InventoryEvent.objects.get(transaction_id='T-1-resent').pk}"
    # The case page lists the batch's lines.
    client.force_login(people[Role.STORE_MANAGER].owner)
    page = client.get(f"/cases/{batch.pk}/").content.decode()
    assert "30 lines sent again at once" in page and f"<td>{again['B-7-again']}</td><td>{first['B-7']}</td>" in page
    # A second run finds the same single case.
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).opened == []


def test_reversing_a_batch_reverses_all_its_lines_together_and_once(people, till, sku, default_routing):
    replayed_batch(till, people.store, [sku], 12)
    run_reconciliation(CaseKind.SUSPECTED_DUPLICATE)
    batch = duplicate_cases().get()
    manager = people[Role.STORE_MANAGER].owner
    assert available(people.store, sku) == -24

    verdict = duplicates.reverse_duplicate(batch, manager)
    assert duplicates.reverse_duplicate(batch, manager) == verdict  # a double click posts nothing more

    assert InventoryEvent.objects.filter(type=EventType.REVERSAL).count() == 12
    assert DuplicateVerdict.objects.filter(case=batch, verdict="reversed").count() == 12
    assert available(people.store, sku) == -12
    assert rebuild_positions().differences == []
    assert CaseLink.objects.filter(case=batch, kind="event").count() >= 12
    assert CaseHistory.objects.filter(case=batch, action="duplicate_reversed").count() == 1
    assert run_reconciliation(CaseKind.SUSPECTED_DUPLICATE).resolved == [batch.pk]
    assert reconciliation.suspected_duplicate() == []
