"""The ledger answers while Redis is away, and the API throttle counts atomically.

A private redis-server (tests/redis_server.py) serves as the cache, as Redis
does in production; it is killed halfway, never the shared one. The throttle
then lets requests through (fails open), logs and counts them; ingest and the
screens keep answering.
"""
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from controltower import throttles
from controltower.models import ApiToken, Role
from inventory.models import InventoryEvent
from tests.controltower.factories import make_user, source_token
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory
from tests.redis_server import PrivateRedis
from tests.threads import run_at_once


# 5 s into a minute: every call of a test falls in the same throttle window.
IN_A_MINUTE = datetime(2026, 12, 6, 10, 0, 5, tzinfo=UTC)


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    yield server
    server.stop()


def redis_cache(url):
    return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
                        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}


def events(prefix, count):
    return {"events": [
        {"transaction_id": f"{prefix}-{n}", "type": "receipt", "location": "S-RD", "sku": "SKU-RD",
         "quantity": 1, "occurred_at": "2026-11-23T10:15:00+00:00"}
        for n in range(count)
    ]}


@pytest.mark.django_db
def test_with_redis_stopped_ingest_and_pages_answer_and_the_throttle_fails_open(
        private_redis, settings, client, caplog, time_machine):
    time_machine.move_to(IN_A_MINUTE, tick=True)  # the test's calls all fall in one minute's window
    settings.CACHES = redis_cache(private_redis.url)
    settings.API_THROTTLE_RATES = {"source": "3/min", "person": "100000/min"}
    LocationFactory(code="S-RD"), SKUFactory(code="SKU-RD")
    api = APIClient(HTTP_AUTHORIZATION=f"Token {source_token(SourceSystemFactory(code='POS-RD'))}")
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    pages = ["/", "/cases/", "/integration/", "/api/v1/cases"]  # "/" lands on the role's page

    # Redis up: the throttle counts in it.
    assert [api.post("/api/v1/events", events(f"up{n}", 2), format="json").status_code
            for n in range(4)] == [200, 200, 200, 429]
    assert client.get("/healthz").json()["cache"] == "ok"

    private_redis.stop()
    failed_open = throttles.cache_failures()
    caplog.set_level(logging.WARNING, logger="controltower.throttles")

    # Redis down: events are taken (beyond the rate too: nothing counts them now).
    statuses = [api.post("/api/v1/events", events(f"down{n}", 2), format="json").status_code for n in range(5)]
    assert statuses == [200] * 5
    assert InventoryEvent.objects.filter(transaction_id__startswith="down").count() == 10
    assert {page: client.get(page, follow=True).status_code for page in pages} == {page: 200 for page in pages}
    # Logged and counted (the person's API call above counts too).
    assert throttles.cache_failures() - failed_open == 6
    assert "the cache did not answer" in caplog.text
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["cache"] == "error"
    assert health.json()["throttle_failed_open"] >= 6


def _parallel_throttle_passes(clients, requests_each):
    """`clients` threads each asking the source throttle `requests_each` times
    at once, all within one minute's window; how many were let through."""
    # Not saved: the throttle reads only the token's source and hash.
    token = ApiToken(source=SourceSystemFactory.build(pk=1), key_hash="parallel-clients")
    request = SimpleNamespace(auth=token)

    def client():
        throttle = throttles.SourceTokenThrottle()
        return sum(throttle.allow_request(request, None) for _ in range(requests_each))

    results = run_at_once([client] * clients)
    assert not [r for r in results if isinstance(r, Exception)], results
    return sum(results)


@pytest.mark.django_db
def test_parallel_clients_get_exactly_the_limit_through_on_redis(private_redis, settings, time_machine):
    time_machine.move_to(IN_A_MINUTE, tick=False)
    settings.CACHES = redis_cache(private_redis.url)
    settings.API_THROTTLE_RATES = {"source": "50/min", "person": "100000/min"}

    assert _parallel_throttle_passes(clients=8, requests_each=25) == 50


def test_parallel_clients_get_exactly_the_limit_through_on_local_memory(settings, time_machine):
    time_machine.move_to(IN_A_MINUTE, tick=False)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "parallel-throttle-test"}}
    settings.API_THROTTLE_RATES = {"source": "50/min", "person": "100000/min"}

    assert _parallel_throttle_passes(clients=8, requests_each=25) == 50
