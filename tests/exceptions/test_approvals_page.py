"""Finance's approvals page carries what a decision needs (the position, the
case's variance, who asked and why, the value, why finance decides) and the
history of decisions."""
from decimal import Decimal

import pytest
from django.test import override_settings
from django.urls import reverse

from controltower.models import Role
from exceptions.models import Case, CorrectiveAdjustment
from exceptions.services import actions, adjustments
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, PositionFactory, SKUFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
A = CorrectiveAdjustment.Status


@pytest.fixture
def store():
    return LocationFactory(name="Berlin Mitte")


def _named(user, first, last):
    user.first_name, user.last_name = first, last
    user.save()
    return user


@pytest.fixture
def asker(store):
    return _named(make_user(Role.STORE_MANAGER, [store], username="anna"), "Anna", "Weber")


@pytest.fixture
def finance():
    return _named(make_user(Role.FINANCE, username="fiona"), "Fiona", "Meyer")


@pytest.fixture
def case(store):
    sku = SKUFactory(description="Whole milk 1 l", unit_cost=Decimal("2.00"))
    PositionFactory(location=store, sku=sku, available=-3)
    return CaseFactory(location=store, sku=sku, status=Case.Status.IN_PROGRESS, quantity_at_risk=3,
                       value_at_risk=Decimal("6.00"), summary="POS sold 3 more than the store had")


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_a_waiting_adjustment_shows_what_the_decision_needs(client, case, asker, finance):
    actions.resolve(case, asker, "stock_corrected", "shrink", note="Found a case in the back room",
                    adjustment={"state": "available", "quantity": 8, "reason": "FOUND", "confirm": True})
    client.force_login(finance)
    body = client.get(reverse("approvals")).content.decode()
    assert f"+8 available of <code>{case.sku.code}</code> at <code>{case.location.code}</code>, worth 16.00" in body
    assert "Berlin Mitte · Whole milk 1 l: available -3 now, 5 after it" in body  # the position
    assert "POS sold 3 more than the store had" in body and "Variance 3 " in body and "6.00 at risk" in body
    assert "Anna Weber" in body and "Reason: Found: stock the record missed" in body  # who asked and why
    assert "“Found a case in the back room”" in body and "the case resolves once approved" in body
    assert "This adjustment is worth 16.00, above 10.00." in body  # why finance decides


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_decisions_are_listed_with_who_when_and_why(client, store, case, asker, finance):
    first = adjustments.request_adjustment(case, asker, "available", 8, "FOUND", confirmed=True)
    client.force_login(finance)
    approved = client.post(reverse("approval-approve", args=[first.pk]))  # a plain form post
    assert approved.status_code == 303 and approved["Location"] == reverse("approvals")
    other = CaseFactory(location=store, sku=case.sku, status=Case.Status.OPEN)
    second = adjustments.request_adjustment(other, asker, "available", -20, "SHRINK", confirmed=True)
    response = client.post(reverse("approval-reject", args=[second.pk]), {"reason": "Count it first"}, **HTMX)
    decisions = list(response.context["decisions"])
    assert [(d.pk, d.status, d.approved_by) for d in decisions] == [(second.pk, A.REJECTED, finance),
                                                                      (first.pk, A.POSTED, finance)]
    body = response.content.decode()
    assert "Rejected</span>" in body and "Approved</span>" in body and "Count it first" in body
    assert "No adjustment is waiting for approval." in body


@override_settings(CASE_ADJUSTMENT_APPROVAL_THRESHOLD="10.00")
def test_deciding_twice_says_so_in_words(client, case, asker, finance):
    adjustment = adjustments.request_adjustment(case, asker, "available", 8, "FOUND", confirmed=True)
    client.force_login(finance)
    client.post(reverse("approval-approve", args=[adjustment.pk]), **HTMX)
    again = client.post(reverse("approval-approve", args=[adjustment.pk]), **HTMX)
    assert again.status_code == 200
    assert f"Adjustment {adjustment.transaction_id} was posted by fiona already" in again.content.decode()
    plain = client.post(reverse("approval-reject", args=[adjustment.pk]), {"reason": "late"})
    assert plain.status_code == 400 and "<html" in plain.content.decode()
