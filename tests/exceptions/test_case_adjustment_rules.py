"""A corrective adjustment cannot corrupt stock by accident: a reason code
from the list, a preview of each state before and after and of the case's
own figure, and a confirmation when it takes a state below zero or makes
more stock than the latest count found; the same rules on the screen and in
the API. Resolution codes and root causes come from lists, their errors in words.
The history writes each action once."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from exceptions.models import Case, CaseHistory, CorrectiveAdjustment
from exceptions.services import adjustments
from inventory.ledger import ingest_events
from inventory.models import Position
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
S = Case.Status


@pytest.fixture
def store():
    return LocationFactory(timezone="UTC")


@pytest.fixture
def manager(store):
    return make_user(Role.STORE_MANAGER, [store])


@pytest.fixture
def case(store):
    sku = SKUFactory(unit_cost=Decimal("1.00"))
    PositionFactory(location=store, sku=sku, available=2)
    return CaseFactory(location=store, sku=sku, status=S.IN_PROGRESS, details={"state": "available", "quantity": 2})


def _available(case):
    return Position.objects.get(location=case.location, sku=case.sku).available


# --------------------------------------------------------------------------
# Confirmation: below zero, or more than the latest count found
# --------------------------------------------------------------------------

def test_taking_a_state_below_zero_needs_a_confirmation_on_the_screen(client, case, manager):
    client.force_login(manager)
    url = reverse("case-adjust", args=[case.pk])
    refused = client.post(url, {"reason": "SHRINK", "state": "available", "quantity": "-5"}, **HTMX)
    body = refused.content.decode()
    assert "This takes available from 2 to -3, below zero." in body
    assert 'name="confirm"' in body and "Tick the box to confirm it." in body  # the form, with its box
    assert not CorrectiveAdjustment.objects.exists() and _available(case) == 2

    client.post(url, {"reason": "SHRINK", "state": "available", "quantity": "-5", "confirm": "on"}, **HTMX)
    assert _available(case) == -3
    assert CorrectiveAdjustment.objects.get().reason == "SHRINK"


def test_more_than_the_latest_count_found_needs_a_confirmation(case, manager):
    source = SourceSystemFactory()
    ingest_events(source, [{"transaction_id": "cnt-1", "type": "cycle_count", "location": case.location.code,
                            "sku": case.sku.code, "quantity": 4, "to_state": "available",
                            "occurred_at": (timezone.now() - timedelta(hours=1)).isoformat()}])
    assert _available(case) == 4
    effect = adjustments.adjustment_effect(case, "available", 3)
    assert len(effect.warnings) == 1 and "found 4 available; this makes 7" in effect.warnings[0]
    with pytest.raises(ValidationError) as error:
        adjustments.request_adjustment(case, manager, "available", 3, "FOUND")
    assert "stock the count says is not there" in error.value.message_dict["confirm"][0]
    adjustments.request_adjustment(case, manager, "available", 3, "FOUND", confirmed=True)
    assert _available(case) == 7
    # Taking stock out, within what is there, needs nothing.
    assert adjustments.adjustment_effect(case, "available", -2).warnings == []


def test_the_api_wants_the_confirm_flag_and_a_listed_reason(api_client, case, manager):
    api_client.force_authenticate(manager)
    url = f"/api/v1/cases/{case.pk}/adjust"
    missing = api_client.post(url, {"state": "available", "quantity": -5, "reason": "SHRINK"}, format="json")
    assert missing.status_code == 400 and "below zero" in missing.json()["errors"]["confirm"][0]
    bad_reason = api_client.post(url, {"state": "available", "quantity": 1, "reason": "because"}, format="json")
    assert bad_reason.status_code == 400 and list(bad_reason.json()["errors"]) == ["reason"]
    assert not CorrectiveAdjustment.objects.exists()
    done = api_client.post(url, {"state": "available", "quantity": -5, "reason": "SHRINK", "confirm": True},
                           format="json")
    assert done.status_code == 200 and done.json()["adjustments"][0]["reason"] == "SHRINK"
    assert _available(case) == -3
    resolve = api_client.post(f"/api/v1/cases/{case.pk}/resolve", {
        "resolution_code": "stock_corrected", "root_cause": "shrink",
        "adjustment": {"state": "available", "quantity": -1, "reason": "SHRINK"}}, format="json")
    assert resolve.status_code == 400 and "confirm" in resolve.json()["errors"]


def test_the_reason_code_is_chosen_from_the_list_on_the_screen(client, case, manager):
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert '<option value="SHRINK">Shrink: stolen or lost</option>' in page
    response = client.post(reverse("case-adjust", args=[case.pk]), {"state": "available", "quantity": "1"}, **HTMX)
    assert "Choose the reason code from the list." in response.content.decode()
    assert not CorrectiveAdjustment.objects.exists()


# --------------------------------------------------------------------------
# The preview: the form stays, each state before and after, the case's figure
# --------------------------------------------------------------------------

def test_the_preview_refreshes_itself_and_leaves_the_form(client, case, manager):
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    preview = page[page.index('<div id="adjust-preview"'):]
    preview = preview[:preview.index(">")]
    # Today the preview inherited the form's hx-target (#case-body) and replaced the case with itself.
    assert 'hx-target="this"' in preview
    response = client.get(reverse("case-adjust-preview", args=[case.pk]),
                          {"state": "available", "quantity": "-5", "reason": "SHRINK"}, **HTMX)
    body = response.content.decode()
    assert 'id="case-body"' not in body and 'name="quantity"' not in body  # only the preview
    assert "This case: shortfall below zero 0 → 3" in body
    assert "This takes available from 2 to -3, below zero." in body and 'name="confirm"' in body
    rows = response.context["preview"]["effect"].rows
    assert [label for label, _, _ in rows][-2:] == ["on_hand", "atp"] and len(rows) == 12


def test_a_snapshot_mismatch_shows_what_its_difference_becomes(store, manager):
    sku = SKUFactory(unit_cost=Decimal("1.00"))
    PositionFactory(location=store, sku=sku, available=568)
    case = CaseFactory(location=store, sku=sku, kind="snapshot_mismatch",
                       details={"state": "available", "observed": 537, "expected": 568})
    assert adjustments.adjustment_effect(case, "available", -31).variance == ("Snapshot minus ledger", -31, 0)
    assert adjustments.adjustment_effect(case, "damaged", 1).variance is None  # another state: not this figure


# --------------------------------------------------------------------------
# Resolution codes and root causes from lists
# --------------------------------------------------------------------------

def test_resolution_code_and_root_cause_are_chosen_from_lists_with_labels(client, case, manager):
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert '<option value="recounted">Recounted: the record was right</option>' in page
    assert '<option value="process_non_compliance">Process non-compliance</option>' in page
    empty = client.post(reverse("case-resolve", args=[case.pk]), {"resolution_code": "", "root_cause": ""}, **HTMX)
    body = empty.content.decode()
    assert "Choose how the case was put right from the list." in body
    assert "Choose the root cause from the list." in body and "master_data, integration_delay" not in body
    made_up = client.post(reverse("case-resolve", args=[case.pk]),
                          {"resolution_code": "fixed it", "root_cause": "gremlins"}, **HTMX)
    assert "Choose how the case was put right from the list." in made_up.content.decode()
    assert Case.objects.get(pk=case.pk).status == S.IN_PROGRESS
    client.post(reverse("case-resolve", args=[case.pk]), {"resolution_code": "recounted", "root_cause": "training"},
                **HTMX)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert "Recounted: the record was right · root cause: Training" in page


# --------------------------------------------------------------------------
# History: each action once, no double full stop
# --------------------------------------------------------------------------

def test_resolving_writes_one_history_entry_with_its_note_once(client, case, manager):
    client.force_login(manager)
    client.post(reverse("case-resolve", args=[case.pk]),
                {"resolution_code": "recounted", "root_cause": "shrink", "note": "Recounted the shelf."}, **HTMX)
    entries = list(CaseHistory.objects.filter(case=case))
    assert len(entries) == 1  # today: status, resolution code and root cause, each with the note
    entry = entries[0]
    assert (entry.field, entry.from_value, entry.to_value) == ("status", "in_progress", "resolved")
    assert entry.other_changes == {"resolution_code": ["", "recounted"], "root_cause": ["", "shrink"]}
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert page.count("Recounted the shelf.") == 1
    assert "Resolve: status in progress → resolved; resolution code recounted; root cause shrink" in page


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="1.00")
def test_a_rejection_reads_once_without_a_double_full_stop(client, case, manager):
    adjustments.request_adjustment(case, manager, "available", 5, "FOUND")
    adjustment = CorrectiveAdjustment.objects.get()
    client.force_login(make_user(Role.FINANCE))
    client.post(reverse("approval-reject", args=[adjustment.pk]), {"reason": "Count again."}, **HTMX)
    notes = list(CaseHistory.objects.filter(case=case).values_list("action", "note"))
    assert [action for action, _ in notes] == ["wait_for_finance", "finance_rejected"]
    assert notes[1][1] == f"Finance rejected {adjustment.transaction_id}: Count again. The case is back in progress."
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert ".." not in page.split('id="case-history"')[1] and page.count("Count again") == 2  # history, adjustment


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="1.00")
def test_an_approval_is_one_entry(case, manager):
    adjustments.request_adjustment(case, manager, "available", 5, "FOUND")
    adjustments.approve_adjustment(CorrectiveAdjustment.objects.get(), make_user(Role.FINANCE))
    entry = CaseHistory.objects.filter(case=case).last()
    assert CaseHistory.objects.filter(case=case).count() == 2 and entry.action == "finance_approved"
    assert entry.other_changes["adjustment"] == ["pending_approval", "posted"]
    assert _available(case) == 7
