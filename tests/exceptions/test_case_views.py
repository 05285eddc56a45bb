"""The case screens: the queue, the case page and its actions, approvals, my stores.

Anna manages S100, Ben manages S200. Every action is also tried by Ben on
Anna's case by URL tampering: not found (404, as the API answers), a plain
message, and nothing written.
"""
import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from controltower import counts
from controltower.models import Role
from exceptions.filters import SEARCH_SKUS_AS_VALUES
from exceptions.models import (
    Case,
    CaseComment,
    CaseHistory,
    CaseLink,
    CorrectiveAdjustment,
)
from exceptions.services import queries
from exceptions.services.sla import sla_state, urgency
from exceptions.views.queue import MostUrgentFirst
from inventory.ledger import ingest_events
from inventory.models import SKU, InventoryEvent, Position
from inventory.sources import control_tower_source
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def store_a():
    return LocationFactory(code="S100", name="Berlin Mitte")


@pytest.fixture
def store_b(store_a):
    return LocationFactory(code="S200", name="Hamburg Hafen", region=store_a.region)


@pytest.fixture
def anna(store_a):
    return make_user(Role.STORE_MANAGER, [store_a], username="anna")


@pytest.fixture
def ben(store_b):
    return make_user(Role.STORE_MANAGER, [store_b], username="ben")


@pytest.fixture
def case(store_a):
    now = timezone.now()
    sku = SKUFactory(code="MILK1L", description="Whole milk 1 l", unit_cost=Decimal("1.00"))
    PositionFactory(location=store_a, sku=sku, available=-3, reserved=2, damaged=1)
    return CaseFactory(location=store_a, sku=sku, reference="POS-7", resolution_due_at=now + timedelta(hours=4),
                       value_at_risk=Decimal("3.00"))


def _ids(response):
    return [c.pk for c in response.context["page"].object_list]


# --------------------------------------------------------------------------
# The queue
# --------------------------------------------------------------------------

def test_queue_lists_my_cases_most_urgent_first(client, anna, store_a, store_b):
    now = timezone.now()
    late = CaseFactory(location=store_a, severity=4, breached_at=now, resolution_due_at=now)
    sev1_later = CaseFactory(location=store_a, severity=1, resolution_due_at=now + timedelta(hours=5))
    sev1_sooner = CaseFactory(location=store_a, severity=1, resolution_due_at=now + timedelta(hours=1))
    sev2 = CaseFactory(location=store_a, severity=2, resolution_due_at=now + timedelta(minutes=5))
    CaseFactory(location=store_b, severity=1, breached_at=now)  # Ben's
    client.force_login(anna)
    response = client.get(reverse("cases"))
    assert response.status_code == 200
    assert _ids(response) == [late.pk, sev1_sooner.pk, sev1_later.pk, sev2.pk]


NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_a_case_past_its_due_time_sorts_with_the_breached_at_once(client, anna, store_a, time_machine):
    """The sweep has not flagged it yet: its SLA reads breached (exceptions.sla.sla_state), so it
    comes before an at-risk case of a higher severity, as the flagged ones do."""
    time_machine.move_to(NOW, tick=False)
    at_risk = CaseFactory(location=store_a, severity=1, warning_due_at=NOW - timedelta(hours=1),
                          resolution_due_at=NOW + timedelta(hours=1))
    overdue = CaseFactory(location=store_a, severity=4, resolution_due_at=NOW - timedelta(minutes=1))
    unanswered = CaseFactory(location=store_a, severity=4, response_due_at=NOW - timedelta(minutes=1),
                             resolution_due_at=NOW + timedelta(hours=3))
    flagged = CaseFactory(location=store_a, severity=3, breached_at=NOW - timedelta(hours=1),
                          resolution_due_at=NOW - timedelta(hours=2))
    waiting = CaseFactory(location=store_a, severity=4, status=Case.Status.WAITING,  # its clock stopped
                          resolution_due_at=NOW - timedelta(minutes=1))
    assert [sla_state(case, NOW).state for case in (overdue, unanswered, at_risk)] == ["breached", "breached",
                                                                                      "at_risk"]
    client.force_login(anna)
    expected = [flagged.pk, overdue.pk, unanswered.pk, at_risk.pk, waiting.pk]
    assert _ids(client.get(reverse("cases"))) == expected
    assert [case.pk for case in queries.active_cases_at(store_a)] == expected


def test_every_slice_of_the_queue_is_in_the_order_of_urgency(store_a, time_machine):
    """The queue reads the breached cases and the others apart (views.queue.MostUrgentFirst): any
    slice of it, wherever it starts and ends, is that slice of the cases sorted by
    exceptions.sla.urgency."""
    time_machine.move_to(NOW, tick=False)
    for n, severity in enumerate((1, 2, 2, 3, 4, 1, 3)):
        CaseFactory(location=store_a, severity=severity, resolution_due_at=NOW + timedelta(minutes=30 * n - 100))
    CaseFactory(location=store_a, severity=2, breached_at=NOW, resolution_due_at=NOW + timedelta(hours=9))
    CaseFactory(location=store_a, severity=2)  # no due time: last of its severity
    expected = list(Case.objects.order_by(*urgency(NOW)).values_list("pk", flat=True))
    queue = MostUrgentFirst(Case.objects.all(), NOW)
    assert queue.count() == len(expected) == 9
    assert expected[:5] != sorted(expected[:5])  # breached first is not the order of creation
    for start in range(10):
        for stop in range(start, 11):
            assert queue[start:stop] == expected[start:stop], (start, stop)


def test_queue_shows_active_cases_unless_asked(client, anna, store_a):
    active = CaseFactory(location=store_a)
    done = CaseFactory(location=store_a, status=Case.Status.RESOLVED)
    client.force_login(anna)
    assert _ids(client.get(reverse("cases"))) == [active.pk]
    assert _ids(client.get(reverse("cases"), {"status": "resolved"})) == [done.pk]
    assert sorted(_ids(client.get(reverse("cases"), {"status": ""}))) == [active.pk, done.pk]


def test_queue_filters(client, anna, store_a, store_b, case):
    other_sku = CaseFactory(location=store_a, severity=1, kind="stale_feed", assignee=anna)
    breached = CaseFactory(location=store_a, severity=2, breached_at=timezone.now())
    client.force_login(anna)
    url = reverse("cases")
    assert _ids(client.get(url, {"q": "whole milk"})) == [case.pk]
    assert _ids(client.get(url, {"q": "milk1l"})) == [case.pk]
    assert _ids(client.get(url, {"q": "POS-7"})) == [case.pk]
    assert _ids(client.get(url, {"kind": "stale_feed"})) == [other_sku.pk]
    assert _ids(client.get(url, {"severity": "2"})) == [breached.pk]
    assert _ids(client.get(url, {"assignee": "me"})) == [other_sku.pk]
    assert _ids(client.get(url, {"assignee": "anna"})) == [other_sku.pk]
    assert sorted(_ids(client.get(url, {"assignee": "none"}))) == sorted([case.pk, breached.pk])
    assert _ids(client.get(url, {"breached": "true"})) == [breached.pk]
    assert len(_ids(client.get(url, {"location": "S100"}))) == 3
    # A location outside the scope is not a choice: the filter says so, the scope holds.
    theirs = CaseFactory(location=store_b)
    response = client.get(url, {"location": "S200"})
    assert theirs.pk not in _ids(response) and len(_ids(response)) == 3
    assert "Select a valid choice" in response.content.decode()


def test_search_matching_more_skus_than_fit_in_the_query_still_finds_them(client, anna, store_a):
    bolts = SKU.objects.bulk_create(
        [SKU(code=f"BOLT{n:04d}", description="Bolt", category="DIY", unit_cost=Decimal("0.10"), base_unit="EA")
         for n in range(SEARCH_SKUS_AS_VALUES + 1)]
    )
    few = CaseFactory(location=store_a, sku=bolts[7])
    many = CaseFactory(location=store_a, sku=bolts[-1])
    CaseFactory(location=store_a)  # another SKU
    client.force_login(anna)
    # BOLT0007 matches one SKU (ids in the query); bolt matches all of them (a subquery).
    assert _ids(client.get(reverse("cases"), {"q": "BOLT0007"})) == [few.pk]
    assert sorted(_ids(client.get(reverse("cases"), {"q": "bolt"}))) == sorted([few.pk, many.pk])


def test_resolved_within_lists_the_recently_done(client, anna, store_a):
    now = timezone.now()
    recent = CaseFactory(location=store_a, status=Case.Status.RESOLVED, resolved_at=now - timedelta(days=2))
    CaseFactory(location=store_a, status=Case.Status.CLOSED, resolved_at=now - timedelta(days=20))
    CaseFactory(location=store_a)
    client.force_login(anna)
    response = client.get(reverse("cases"), {"status": "done", "resolved_within": "7"})
    assert _ids(response) == [recent.pk]
    assert '<option value="7" selected>' in response.content.decode()


def test_htmx_filter_returns_the_table_only_and_a_shared_link_the_full_page(client, anna, store_a, case):
    CaseFactory(location=store_a, kind="stale_feed")
    client.force_login(anna)
    partial = client.get(reverse("cases"), {"kind": "negative_stock"}, HTTP_HX_TARGET="case-table", **HTMX)
    body = partial.content.decode()
    assert body.startswith('<div id="case-table"') and "<html" not in body
    assert f"#{case.pk} Negative stock" in body and "Stale feed</a>" not in body
    assert "export.csv?kind=negative_stock" in body  # the export link keeps the filter
    full = client.get(reverse("cases"), {"kind": "negative_stock"})
    assert "<html" in full.content.decode() and _ids(full) == [case.pk]
    assert 'hx-push-url="true"' in full.content.decode()


def test_queue_paginates(client, anna, store_a):
    CaseFactory.create_batch(51, location=store_a)
    client.force_login(anna)
    assert len(_ids(client.get(reverse("cases")))) == 50
    assert len(_ids(client.get(reverse("cases"), {"page": 2}))) == 1


def test_counts_per_status_in_my_scope(client, anna, store_a, store_b):
    CaseFactory.create_batch(2, location=store_a)
    CaseFactory(location=store_a, status=Case.Status.WAITING, breached_at=timezone.now())
    CaseFactory(location=store_b)
    client.force_login(anna)
    response = client.get(reverse("case-counts"))
    counts = {row["status"]: row["count"] for row in response.context["counts"]}
    assert counts["open"] == 2 and counts["waiting"] == 1 and counts["resolved"] == 0
    assert response.context["breached"] == 1
    assert 'hx-trigger="casesChanged from:body"' in response.content.decode()


def test_done_counts_cover_the_last_week_and_link_to_that_list(client, anna, store_a):
    now = timezone.now()
    CaseFactory(location=store_a, status=Case.Status.RESOLVED, resolved_at=now - timedelta(days=1))
    CaseFactory(location=store_a, status=Case.Status.RESOLVED, resolved_at=now - timedelta(days=9))
    CaseFactory(location=store_a, status=Case.Status.CLOSED, resolved_at=now - timedelta(days=6),
                breached_at=now - timedelta(days=8))
    client.force_login(anna)
    response = client.get(reverse("case-counts"))
    counts = {row["status"]: row["count"] for row in response.context["counts"]}
    assert (counts["resolved"], counts["closed"]) == (1, 1)
    assert response.context["breached"] == 0  # breached, but no longer active
    body = response.content.decode()
    assert "?status=resolved&amp;resolved_within=7" in body and "Resolved, last 7 days" in body


def test_csv_export_has_the_filtered_cases_in_scope(client, anna, store_a, store_b, case):
    CaseFactory(location=store_a, kind="stale_feed")
    CaseFactory(location=store_b)
    client.force_login(anna)
    response = client.get(reverse("case-export"), {"kind": "negative_stock"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["id"], r["location"], r["sku"], r["sku_description"]) for r in rows] == [
        (str(case.pk), "S100", "MILK1L", "Whole milk 1 l")
    ]


def test_queue_query_count_does_not_grow_with_cases(client, anna, store_a, django_assert_max_num_queries):
    CaseFactory.create_batch(30, location=store_a, assignee=anna)
    client.force_login(anna)
    # 12, and the menu's count of the person's work: their cases, their gates to sign (controltower.web.mywork)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("cases"))
    assert len(_ids(response)) == 30


# --------------------------------------------------------------------------
# Bulk actions
# --------------------------------------------------------------------------

def test_bulk_acknowledge(client, anna, store_a):
    first, second = CaseFactory.create_batch(2, location=store_a)
    waiting = CaseFactory(location=store_a, status=Case.Status.WAITING)
    client.force_login(anna)
    response = client.post(reverse("case-bulk"),
                           {"action": "acknowledge", "cases": [first.pk, second.pk, waiting.pk]}, **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "casesChanged"
    assert set(Case.objects.filter(status=Case.Status.ACKNOWLEDGED).values_list("pk", flat=True)) == {
        first.pk, second.pk}
    assert f"#{waiting.pk} left as it was" in response.content.decode()


def test_bulk_assign_to_me_and_to_someone(client, anna, store_a):
    colleague = make_user(Role.STORE_MANAGER, [store_a], username="carla")
    first, second = CaseFactory.create_batch(2, location=store_a)
    client.force_login(anna)
    client.post(reverse("case-bulk"), {"action": "assign_me", "cases": [first.pk]}, **HTMX)
    client.post(reverse("case-bulk"), {"action": "assign", "cases": [second.pk], "assignee": colleague.pk}, **HTMX)
    assert Case.objects.get(pk=first.pk).assignee == anna
    assert Case.objects.get(pk=second.pk).assignee == colleague
    missing = client.post(reverse("case-bulk"), {"action": "assign", "cases": [first.pk]}, **HTMX)
    assert "Choose who gets the selected cases." in missing.content.decode()


def test_bulk_with_one_case_out_of_scope_is_refused_whole(client, anna, ben, store_a, store_b):
    mine = CaseFactory(location=store_a)
    theirs = CaseFactory(location=store_b)
    client.force_login(anna)
    response = client.post(reverse("case-bulk"), {"action": "acknowledge", "cases": [mine.pk, theirs.pk]}, **HTMX)
    assert response.status_code == 403
    assert "1 of the selected cases are not in your scope" in response.content.decode()
    assert response["HX-Retarget"] == "#case-alert"
    assert not Case.objects.exclude(status=Case.Status.OPEN).exists()
    assert not CaseHistory.objects.exists()


# --------------------------------------------------------------------------
# The case page
# --------------------------------------------------------------------------

def _link_a_sale(case):
    report = ingest_events(control_tower_source(), [{
        "transaction_id": "T-1", "type": "sale", "location": case.location.code, "sku": case.sku.code,
        "quantity": 3, "occurred_at": (timezone.now() - timedelta(minutes=5)).isoformat(),
    }])
    event = InventoryEvent.objects.get(transaction_id="T-1")
    CaseLink.objects.create(case=case, kind=CaseLink.Kind.EVENT, object_id=event.pk)
    return report


def test_case_page_tells_what_happened_the_numbers_lineage_and_position(client, anna, case):
    _link_a_sale(case)
    client.force_login(anna)
    response = client.get(reverse("case-detail", args=[case.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert case.summary in body
    assert "Quantity at risk" in body and "Value at risk" in body and "On track" in body
    assert "CONTROL-TOWER</code></a> · <code>T-1</code>" in body  # the event behind it
    assert "/records/events/?location=S100&amp;sku=MILK1L" in body
    states = dict(response.context["position_states"])
    assert states["available"] == -6 and states["reserved"] == 2  # -3, then the linked sale of 3
    assert response.context["position"].on_hand == -3  # -6 + 2 reserved + 1 damaged


def test_case_page_names_the_jobs_numbers_in_words(client, anna, case):
    Case.objects.filter(pk=case.pk).update(details={
        "pos_quantity": 7, "erp_quantity": 5, "day": "2026-11-20", "as_of": "2026-11-20T17:52:18+00:00",
        "tolerance": {"units": "5", "percent": "0.5"},
    })
    client.force_login(anna)
    body = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "<dt>POS quantity</dt><dd>7</dd>" in body and "<dt>ERP quantity</dt><dd>5</dd>" in body
    assert "<dt>Day</dt><dd>20 Nov 2026</dd>" in body
    assert "<dt>As of</dt><dd>20 Nov 2026 18:52 CET</dd>" in body  # in the store's time zone, with its abbreviation
    assert "<dt>Tolerance</dt><dd>units 5, percent 0.5</dd>" in body


def test_case_page_of_another_store_is_refused(client, ben, case):
    client.force_login(ben)
    response = client.get(reverse("case-detail", args=[case.pk]))
    assert response.status_code == 404
    assert f"No case #{case.pk} in your scope" in response.content.decode()
    unknown = client.get(reverse("case-detail", args=[case.pk + 999]))
    assert unknown.status_code == 404
    assert f"No case #{case.pk + 999} in your scope" in unknown.content.decode()  # the same words: existence is hidden


def test_case_page_query_count(client, anna, case, django_assert_max_num_queries):
    _link_a_sale(case)
    for n in range(5):
        client.force_login(anna)
        client.post(reverse("case-comment", args=[case.pk]), {"body": f"note {n}"}, **HTMX)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("case-detail", args=[case.pk]))
    assert len(response.context["comments"]) == 5


# --------------------------------------------------------------------------
# Actions on the case page
# --------------------------------------------------------------------------

def _post(client, user, name, case, data=None):
    client.force_login(user)
    return client.post(reverse(name, args=[case.pk]), data or {}, **HTMX)


def test_acknowledge(client, anna, case):
    response = _post(client, anna, "case-acknowledge", case)
    assert response.status_code == 200 and response["HX-Trigger"] == "casesChanged"
    assert response.content.decode().startswith('<div id="case-body"')
    assert Case.objects.get(pk=case.pk).status == Case.Status.ACKNOWLEDGED
    assert CaseHistory.objects.filter(case=case, action="acknowledge", actor=anna).exists()


def test_assign_to_me_and_to_someone(client, anna, ben, store_a, case):
    _post(client, anna, "case-assign-me", case)
    assert Case.objects.get(pk=case.pk).assignee == anna
    colleague = make_user(Role.STORE_MANAGER, [store_a], username="carla")
    _post(client, anna, "case-assign", case, {"assignee": colleague.pk})
    assert Case.objects.get(pk=case.pk).assignee == colleague
    # Ben is not a choice for a case of S100: the form says so, nothing changes.
    response = _post(client, anna, "case-assign", case, {"assignee": ben.pk})
    assert "Select a valid choice" in response.content.decode()
    assert Case.objects.get(pk=case.pk).assignee == colleague


def test_comment_needs_text(client, anna, case):
    empty = _post(client, anna, "case-comment", case, {"body": "  "})
    assert "A comment needs some text." in empty.content.decode() and not CaseComment.objects.exists()
    _post(client, anna, "case-comment", case, {"body": "Counted the shelf: 0 left"})
    assert CaseComment.objects.get(case=case).body == "Counted the shelf: 0 left"


def test_resolve_needs_a_root_cause_shown_inline(client, anna, case):
    response = _post(client, anna, "case-resolve", case, {"resolution_code": "recounted"})
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert "has-error" in body and "Choose the root cause from the list." in body
    assert "process_non_compliance, system_defect" not in body  # today's error listed the internal keys
    assert '<option value="recounted" selected>' in body  # what was chosen stays
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN

    response = _post(client, anna, "case-resolve", case, {"resolution_code": "recounted", "root_cause": "shrink"})
    case.refresh_from_db()
    assert (case.status, case.root_cause, case.resolved_by) == (Case.Status.RESOLVED, "shrink", anna)
    assert response["HX-Trigger"] == "casesChanged"


def test_reopen_needs_a_reason(client, anna, case):
    Case.objects.filter(pk=case.pk).update(status=Case.Status.RESOLVED)
    assert "Say why the case is reopened." in _post(client, anna, "case-reopen", case).content.decode()
    _post(client, anna, "case-reopen", case, {"reason": "Still short on the shelf"})
    assert Case.objects.get(pk=case.pk).status == Case.Status.OPEN


def test_wait_and_resume(client, anna, case):
    assert "Say who or what" in _post(client, anna, "case-wait", case).content.decode()
    _post(client, anna, "case-wait", case, {"waiting_on": "DC Nord"})
    assert Case.objects.get(pk=case.pk).status == Case.Status.WAITING
    _post(client, anna, "case-resume", case)
    assert Case.objects.get(pk=case.pk).status == Case.Status.IN_PROGRESS


ACTIONS = [
    ("case-acknowledge", {}),
    ("case-assign-me", {}),
    ("case-assign", {"assignee": "1"}),
    ("case-comment", {"body": "hello"}),
    ("case-wait", {"waiting_on": "DC"}),
    ("case-resume", {}),
    ("case-resolve", {"resolution_code": "recounted", "root_cause": "shrink"}),
    ("case-reopen", {"reason": "why not"}),
    ("case-adjust", {"state": "available", "quantity": "3", "reason": "ADMIN_CORRECTION", "confirm": "on"}),
]


@pytest.mark.parametrize("name,data", ACTIONS)
def test_outsider_is_refused_every_action(client, ben, case, name, data):
    response = _post(client, ben, name, case, data)
    assert response.status_code == 404
    assert f"No case #{case.pk} in your scope" in response.content.decode()
    case_after = Case.objects.get(pk=case.pk)
    assert (case_after.status, case_after.assignee) == (Case.Status.OPEN, None)
    assert not CaseHistory.objects.exists() and not CaseComment.objects.exists()
    assert not CorrectiveAdjustment.objects.exists()


def test_read_only_role_sees_no_actions(client, case):
    client.force_login(make_user(Role.EXECUTIVE))
    body = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Your role can read this case but not act on it." in body and "Acknowledge</button>" not in body


# --------------------------------------------------------------------------
# Corrective adjustments and finance approval
# --------------------------------------------------------------------------

@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_adjustment_preview_shows_the_position_after_it(client, anna, ben, case):
    Case.objects.filter(pk=case.pk).update(details={"state": "available", "quantity": -3})
    client.force_login(anna)
    url = reverse("case-adjust-preview", args=[case.pk])
    small = client.get(url, {"state": "available", "quantity": "3", "reason": "FOUND"}, **HTMX)
    rows = {label: (before, after) for label, before, after in small.context["preview"]["effect"].rows}
    assert rows["available"] == (-3, 0) and rows["reserved"] == (2, 2) and rows["on_hand"] == (0, 3)
    assert small.context["preview"]["effect"].variance == ("Shortfall below zero", 3, 0)
    assert "posted to the ledger at once" in small.content.decode()
    large = client.get(url, {"state": "available", "quantity": "20", "reason": "FOUND"}, **HTMX)
    assert "waits for finance approval" in large.content.decode()
    client.force_login(ben)
    assert client.get(url, {"state": "available", "quantity": "3"}, **HTMX).status_code == 404


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_small_adjustment_is_posted_at_once(client, anna, case):
    response = _post(client, anna, "case-adjust", case, {"state": "available", "quantity": "3", "reason": "ADMIN_CORRECTION", "confirm": "on"})
    assert response.status_code == 200
    assert CorrectiveAdjustment.objects.get(case=case).status == CorrectiveAdjustment.Status.POSTED
    assert Position.objects.get(location=case.location, sku=case.sku).available == 0
    zero = _post(client, anna, "case-adjust", case, {"state": "available", "quantity": "0", "reason": "ADMIN_CORRECTION", "confirm": "on"})
    assert "not zero" in zero.content.decode()


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_large_adjustment_waits_for_finance_who_approves_it(client, anna, case):
    _post(client, anna, "case-adjust", case, {"state": "available", "quantity": "20", "reason": "ADMIN_CORRECTION", "confirm": "on"})
    adjustment = CorrectiveAdjustment.objects.get(case=case)
    assert adjustment.status == CorrectiveAdjustment.Status.PENDING_APPROVAL
    assert Position.objects.get(location=case.location, sku=case.sku).available == -3

    # The store manager may neither see the queue nor approve by URL tampering.
    client.force_login(anna)
    assert client.get(reverse("approvals")).status_code == 403
    refused = client.post(reverse("approval-approve", args=[adjustment.pk]), **HTMX)
    assert refused.status_code == 403 and "Your role may not do this." in refused.content.decode()
    assert CorrectiveAdjustment.objects.get(pk=adjustment.pk).status == CorrectiveAdjustment.Status.PENDING_APPROVAL

    finance = make_user(Role.FINANCE, username="fiona")
    client.force_login(finance)
    queue = client.get(reverse("approvals"))
    assert list(queue.context["adjustments"]) == [adjustment]
    response = client.post(reverse("approval-approve", args=[adjustment.pk]), **HTMX)
    assert response.status_code == 200 and response["HX-Trigger"] == "casesChanged"
    assert CorrectiveAdjustment.objects.get(pk=adjustment.pk).status == CorrectiveAdjustment.Status.POSTED
    assert Position.objects.get(location=case.location, sku=case.sku).available == 17
    assert "No adjustment is waiting for approval." in response.content.decode()


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_finance_rejects_an_adjustment(client, anna, case):
    _post(client, anna, "case-adjust", case, {"state": "available", "quantity": "20", "reason": "ADMIN_CORRECTION", "confirm": "on"})
    adjustment = CorrectiveAdjustment.objects.get(case=case)
    client.force_login(make_user(Role.FINANCE))
    client.post(reverse("approval-reject", args=[adjustment.pk]), {"reason": "count again"}, **HTMX)
    assert CorrectiveAdjustment.objects.get(pk=adjustment.pk).status == CorrectiveAdjustment.Status.REJECTED
    assert Position.objects.get(location=case.location, sku=case.sku).available == -3
    again = client.post(reverse("approval-approve", args=[adjustment.pk]), **HTMX)
    assert f"Adjustment case-{case.pk}-adj-1 was rejected by" in again.content.decode()


# --------------------------------------------------------------------------
# My stores
# --------------------------------------------------------------------------

def test_my_stores_counts_active_cases_and_negative_positions(client, anna, store_a, store_b, case):
    CaseFactory(location=store_a, breached_at=timezone.now())
    CaseFactory(location=store_a, status=Case.Status.RESOLVED)
    CaseFactory(location=store_b)
    PositionFactory(location=store_b, available=-9)
    client.force_login(anna)
    response = client.get(reverse("stores"))
    rows = response.context["rows"]
    assert [row["location"].code for row in rows] == ["S100"]
    assert (rows[0]["cases"]["open"], rows[0]["cases"]["breached"], rows[0]["negative"]) == (2, 1, 1)
    assert [(p.location.code, p.sku.code, p.available) for p in response.context["negative_positions"]] == [
        ("S100", "MILK1L", -3)]


def test_my_stores_counts_negative_positions_up_to_the_cap(client, anna, store_a, case, monkeypatch):
    PositionFactory.create_batch(2, location=store_a, available=-1)
    monkeypatch.setattr(counts, "COUNT_CAP", 2)
    client.force_login(anna)
    response = client.get(reverse("stores"))
    assert response.context["negative_total"] == 3  # cap + 1: "more than the cap"
    assert "Negative available (2+)" in response.content.decode()
