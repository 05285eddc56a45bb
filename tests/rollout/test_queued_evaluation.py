""""Evaluate now" is queued: the request is recorded, a worker runs it once,
and the wave page says "queued" (polling) until it shows the result.

Tasks run inline here (tests/conftest.py); a request made through the
service and not yet run is what a worker has not reached yet."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from rollout.evaluation import request_evaluation, run_left_queued, run_request
from rollout.models import EvaluationRequest, GateKind
from rollout.tasks import run_evaluation_request
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store():
    return LocationFactory(code="S200")


@pytest.fixture
def wave(store, gauge):
    wave = WaveFactory(name="South", stores=[store])
    training = GateTemplateFactory(program=wave.program, kind=GateKind.TRAINING_COMPLETE)
    CriterionFactory(template=training, threshold=Decimal("95"))
    CriterionFactory(template=training, threshold=Decimal("50"))
    gauge.set({store: 80})  # meets 50, misses 95
    return wave


@pytest.fixture
def pmo(client):
    user = make_user(Role.PMO, username="paula")
    user.first_name, user.last_name = "Paula", "Page"
    user.save()
    client.force_login(user)
    return user


def page(client, wave):
    response = client.get(reverse("rollout-wave", args=[wave.pk]))
    assert response.status_code == 200
    return response.content.decode()


def status(client, wave):
    response = client.get(reverse("rollout-evaluation", args=[wave.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_queued_evaluation_is_polled_for_until_its_result_shows(client, wave, pmo, time_machine):
    time_machine.move_to(timezone.now().replace(hour=9, minute=30), tick=False)
    queued, new = request_evaluation(wave, user=pmo)
    assert new and queued.finished_at is None

    text = page(client, wave)
    assert "Evaluation queued at" in text and "by Paula Page" in text
    assert f'hx-get="{reverse("rollout-evaluation", args=[wave.pk])}" hx-trigger="every 3s"' in text
    assert "hx-trigger" in status(client, wave)  # still queued: it keeps polling

    time_machine.shift(timedelta(seconds=20))
    run_evaluation_request(queued.pk)  # what the worker does

    answer = status(client, wave)
    assert "hx-trigger" not in answer  # done: the polling stops
    assert "2 criteria measured, 1 failing" in answer
    assert "Reload the page to see the new evidence" in answer
    queued.refresh_from_db()
    assert queued.finished_at == timezone.now() and (queued.evaluations, queued.failing) == (2, 1)
    assert "2 criteria measured, 1 failing" in page(client, wave)


def test_the_button_queues_and_the_worker_runs_it(client, wave, pmo):
    response = client.post(reverse("rollout-evaluate", args=[wave.pk]), follow=True)
    assert response.status_code == 200
    done = EvaluationRequest.objects.get(wave=wave)
    assert done.requested_by == pmo and done.finished_at is not None
    assert "2 criteria measured, 1 failing" in response.content.decode()
    assert wave.gates.get().evaluations.count() == 2


def test_two_clicks_while_queued_queue_once(client, wave, pmo):
    queued, _ = request_evaluation(wave, user=pmo)
    response = client.post(reverse("rollout-evaluate", args=[wave.pk]), follow=True)
    assert "An evaluation is already queued since" in response.content.decode()
    assert list(EvaluationRequest.objects.filter(wave=wave)) == [queued]
    assert request_evaluation(wave, user=make_user(Role.PMO)) == (queued, False)
    assert not wave.gates.exists()  # nothing ran: the worker has not reached it


def test_a_request_run_twice_evaluates_once(wave, pmo):
    queued, _ = request_evaluation(wave, user=pmo)
    assert run_request(queued.pk) == queued
    assert run_request(queued.pk) is None
    assert wave.gates.get().evaluations.count() == 2
    # Done: the next click is a new request.
    assert request_evaluation(wave, user=pmo)[1] is True


def test_the_sweep_runs_requests_left_queued_and_leaves_young_ones_to_their_task(wave, pmo):
    now = timezone.now()
    old, _ = request_evaluation(wave, user=pmo, at=now - timedelta(minutes=5))
    other = WaveFactory(program=wave.program, name="East", stores=[LocationFactory(code="S201")])
    young, _ = request_evaluation(other, user=pmo, at=now - timedelta(seconds=10))

    assert run_left_queued(now) == 1
    old.refresh_from_db(), young.refresh_from_db()
    assert old.finished_at is not None and young.finished_at is None
    assert run_left_queued(now) == 0


def test_who_may_not_evaluate_is_refused_and_the_status_keeps_to_the_scope(client, wave, store):
    client.force_login(make_user(Role.FINANCE))
    assert client.post(reverse("rollout-evaluate", args=[wave.pk])).status_code == 403
    assert not EvaluationRequest.objects.exists()
    client.force_login(make_user(Role.STORE_MANAGER, locations=[LocationFactory(code="S999")]))
    assert client.get(reverse("rollout-evaluation", args=[wave.pk])).status_code == 404


def test_an_evaluation_that_fails_says_why_and_is_not_run_again(client, wave, pmo):
    CriterionFactory(template=wave.program.gate_templates.get(), metric="retired_metric")
    queued, _ = request_evaluation(wave, user=pmo)
    with pytest.raises(ValueError):
        run_request(queued.pk)
    answer = status(client, wave)
    assert "failed: Unknown metric" in answer and "The hourly run tries again" in answer
    assert "hx-trigger" not in answer  # no polling for a result that will not come
    assert not wave.gates.exists()  # nothing half kept, not even the gates
    assert run_left_queued(timezone.now() + timedelta(hours=1)) == 0
