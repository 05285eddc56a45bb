"""Every case action on the screens, tried from a status that refuses it
(a double click, a stale page): the answer is the refusal in words, the case
page around it, never a 500; nothing is written. Once as htmx, once as a
plain form post (no JavaScript)."""
import re

import pytest
from django.urls import reverse

from controltower.models import Role
from exceptions.services import actions
from exceptions.models import Case, CaseComment, CaseHistory, CorrectiveAdjustment
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory
from tests.inventory.factories import LocationFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
S = Case.Status

# (url name, the case's status, form data, words the answer must hold)
REFUSED = [
    ("case-acknowledge", S.ACKNOWLEDGED, {}, "Cannot acknowledge it: the case is acknowledged."),
    ("case-acknowledge", S.RESOLVED, {}, "Cannot acknowledge it: the case is resolved."),
    ("case-assign-me", S.RESOLVED, {}, "Cannot assign it: the case is resolved."),
    ("case-assign", S.CLOSED, {"assignee": "me"}, "Cannot assign it: the case is closed."),
    ("case-wait", S.RESOLVED, {"waiting_on": "DC Nord"}, "Cannot set it waiting: the case is resolved."),
    ("case-wait", S.WAITING, {"waiting_on": "DC Nord"}, "Cannot set it waiting: the case is waiting."),
    ("case-resume", S.OPEN, {}, "Cannot resume it: the case is open."),
    ("case-resume", S.IN_PROGRESS, {}, "Cannot resume it: the case is in progress."),
    ("case-resolve", S.RESOLVED, {"resolution_code": "recounted", "root_cause": "shrink"},
     "Cannot resolve it: the case is resolved."),
    ("case-reopen", S.OPEN, {"reason": "still short"}, "Cannot reopen it: the case is open."),
    ("case-reverse-duplicate", S.OPEN, {}, "Only a suspected-duplicate case has a pair to settle"),
    ("case-explain-duplicate", S.OPEN, {"reason": "two customers"},
     "Only a suspected-duplicate case has a pair to settle"),
    ("case-comment", S.OPEN, {"body": "  "}, "A comment needs some text"),
]


@pytest.fixture
def store():
    return LocationFactory()


@pytest.fixture
def manager(store):
    return make_user(Role.STORE_MANAGER, [store])


def _data(data, manager):
    return {**data, "assignee": manager.pk} if "assignee" in data else data


def _unchanged(case, status):
    after = Case.objects.get(pk=case.pk)
    assert (after.status, after.assignee_id) == (status, None)
    assert not CaseHistory.objects.filter(case=case).exists() and not CaseComment.objects.exists()


@pytest.mark.parametrize("name,status,data,words", REFUSED)
def test_a_refused_action_answers_in_words_with_htmx(client, store, manager, name, status, data, words):
    case = CaseFactory(location=store, status=status)
    client.force_login(manager)
    response = client.post(reverse(name, args=[case.pk]), _data(data, manager), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "HX-Trigger" not in response
    assert body.startswith('<div id="case-body"')  # the case as it is now, with the refusal on it
    assert words in body
    _unchanged(case, status)


@pytest.mark.parametrize("name,status,data,words", REFUSED)
def test_a_refused_action_answers_in_words_without_javascript(client, store, manager, name, status, data, words):
    case = CaseFactory(location=store, status=status)
    client.force_login(manager)
    response = client.post(reverse(name, args=[case.pk]), _data(data, manager))
    body = response.content.decode()
    assert response.status_code == 400
    assert "<html" in body and 'id="case-body"' in body  # the whole case page
    assert words in body
    _unchanged(case, status)


def test_a_double_click_on_acknowledge_acknowledges_once(client, store, manager):
    case = CaseFactory(location=store)
    client.force_login(manager)
    first = client.post(reverse("case-acknowledge", args=[case.pk]), **HTMX)
    second = client.post(reverse("case-acknowledge", args=[case.pk]), **HTMX)
    assert first.status_code == second.status_code == 200
    assert "Cannot acknowledge it: the case is acknowledged." in second.content.decode()
    assert CaseHistory.objects.filter(case=case, action="acknowledge").count() == 1


def test_resume_of_a_case_waiting_for_finance_says_so(client, store, manager):
    case = CaseFactory(location=store, status=S.WAITING)
    adjustment = CorrectiveAdjustmentFactory(case=case)
    client.force_login(manager)
    response = client.post(reverse("case-resume", args=[case.pk]), **HTMX)
    assert response.status_code == 200
    assert f"The case waits for finance to decide on {adjustment.transaction_id}" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == S.WAITING


def test_a_plain_post_that_works_goes_back_to_the_case_page(client, store, manager):
    case = CaseFactory(location=store)
    client.force_login(manager)
    response = client.post(reverse("case-acknowledge", args=[case.pk]))
    assert response.status_code == 303 and response["Location"] == reverse("case-detail", args=[case.pk])
    assert Case.objects.get(pk=case.pk).status == S.ACKNOWLEDGED


def test_an_adjustment_on_a_case_with_a_pending_one_is_refused_in_words(client, store, manager):
    case = CaseFactory(location=store, status=S.WAITING)
    pending = CorrectiveAdjustmentFactory(case=case)
    client.force_login(manager)
    response = client.post(reverse("case-adjust", args=[case.pk]),
                           {"state": "available", "quantity": "1", "reason": "FOUND"}, **HTMX)
    assert response.status_code == 200
    assert f"Adjustment {pending.transaction_id} of this case waits for finance approval" in response.content.decode()
    assert CorrectiveAdjustment.objects.filter(case=case).count() == 1


def _count(body, status):
    """The figure of `status` in the status counts of an answer."""
    return int(re.search(rf'<strong data-status="{status}">(\d+)</strong>', body).group(1))


def test_a_refusal_refreshes_the_status_counts_out_of_band(client, store, manager):
    """Someone else resolved the case first: the refusal in words, and the page's counts as they
    are now in the same answer (swapped out of band), not the stale ones of the page."""
    case = CaseFactory(location=store, status=S.OPEN)
    client.force_login(manager)
    page = client.get(reverse("case-detail", args=[case.pk])).content.decode()
    assert (_count(page, S.OPEN), _count(page, S.RESOLVED)) == (1, 0)
    actions.resolve(case, make_user(Role.STORE_MANAGER, [store], username="colleague"), "recounted", "shrink")
    response = client.post(reverse("case-resolve", args=[case.pk]),
                           {"resolution_code": "recounted", "root_cause": "training"}, **HTMX)
    body = response.content.decode()
    assert "Cannot resolve it: the case is resolved." in body
    counts = body[body.index('<nav id="case-counts"'):]
    assert 'hx-swap-oob="true"' in counts[:counts.index(">")]
    assert (_count(counts, S.OPEN), _count(counts, S.RESOLVED)) == (0, 1)


def test_an_action_that_works_answers_without_the_counts(client, store, manager):
    """A successful action has the counts reload on its casesChanged event instead."""
    case = CaseFactory(location=store)
    client.force_login(manager)
    response = client.post(reverse("case-acknowledge", args=[case.pk]), **HTMX)
    assert response["HX-Trigger"] == "casesChanged" and 'id="case-counts"' not in response.content.decode()
