"""A real Celery worker on Redis runs a queued "Evaluate now", and the wave
page's polled line then shows its result.

Run with DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://… SECRET_KEY=<50+
characters> (as `make test-postgres` does); skipped otherwise.
"""
import os
import signal
import subprocess
import uuid

import pytest
import redis
from django.urls import reverse

from controltower.celery import app
from controltower.models import Role
from rollout.evaluation import request_evaluation
from rollout.models import EvaluationRequest
from tests.controltower.factories import make_user
from tests.controltower.test_worker_redis import BROKER, pending, start_worker, wait_until

from .factories import CriterionFactory, GateTemplateFactory, WaveFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not BROKER.startswith("redis://"), reason="needs CELERY_BROKER_URL=redis://"),
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_runs_a_queued_evaluation_and_the_page_shows_its_result(client, tmp_path):
    wave = WaveFactory(name="West")
    CriterionFactory(template=GateTemplateFactory(program=wave.program), metric="training_completion")
    pmo = make_user(Role.PMO)
    client.force_login(pmo)
    queued, _ = request_evaluation(wave, user=pmo)
    status = reverse("rollout-evaluation", args=[wave.pk])
    assert "Evaluation queued at" in client.get(status).content.decode()

    broker = redis.Redis.from_url(BROKER)
    queue = f"test-evaluate-{uuid.uuid4().hex[:8]}"
    log = open(tmp_path / "worker.log", "w")
    worker = start_worker(queue, log)
    try:
        app.send_task("rollout.run_evaluation_request", args=[queued.pk], queue=queue)
        wait_until(lambda: pending(broker, queue) == 0, 60, "the evaluation")
        wait_until(lambda: EvaluationRequest.objects.get(pk=queued.pk).finished_at is not None, 10, "its record")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.close()
        broker.delete(queue)

    answer = client.get(status).content.decode()
    assert "1 criterion measured, 1 failing" in answer and "hx-trigger" not in answer
    assert wave.gates.get().evaluations.count() == 1
