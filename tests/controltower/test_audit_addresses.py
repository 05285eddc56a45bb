"""From where, in the audit trail and for the login throttle: one rule (controltower.addresses).
No proxy in front: the connection's address, whatever X-Forwarded-For says. Behind N proxies:
the Nth address from the right of X-Forwarded-For, the one the first proxy saw."""
import pytest
from auditlog.models import LogEntry
from axes.helpers import get_client_ip_address
from django.test import RequestFactory

from controltower.addresses import client_address
from controltower.models import Role
from tests.controltower.factories import make_user, person_token

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"  # REMOTE_ADDR when the request comes through the proxy


def load_a_sku(api_client, **headers):
    response = api_client.post("/api/v1/skus", {"skus": [
        {"code": "MILK", "category": "Dairy", "unit_cost": "0.89", "base_unit": "EA"}]}, format="json",
        HTTP_AUTHORIZATION=f"Token {person_token(make_user(Role.ADMIN))}", **headers)
    assert response.status_code == 200, response.content
    return LogEntry.objects.get(content_type__model="sku")


@pytest.mark.parametrize("forged", ["198.51.100.66", "198.51.100.66, 192.0.2.10", "not an address"])
def test_without_a_proxy_a_forged_forwarded_address_is_not_recorded(api_client, settings, forged):
    settings.PROXY_COUNT = 0
    entry = load_a_sku(api_client, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=forged,
                       HTTP_X_FORWARDED_PORT="4444")
    assert (entry.remote_addr, entry.remote_port) == ("203.0.113.7", None)


def test_behind_one_proxy_the_address_the_proxy_took_the_request_from_is_recorded(api_client, settings):
    settings.PROXY_COUNT = 1
    # The client wrote the first address itself; the proxy appended the second.
    entry = load_a_sku(api_client, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66, 192.0.2.10")
    assert entry.remote_addr == "192.0.2.10"


@pytest.mark.parametrize("proxies, forwarded, remote, expected", [
    (0, "198.51.100.66", "203.0.113.7", "203.0.113.7"),
    (1, "192.0.2.10", PROXY, "192.0.2.10"),
    (1, "192.0.2.10:52144", PROXY, "192.0.2.10"),  # a proxy that adds the port
    (1, "[2001:db8::7]:443", PROXY, "2001:db8::7"),
    (1, "2001:db8::7", PROXY, "2001:db8::7"),
    (2, "198.51.100.66, 192.0.2.10, 10.0.0.3", PROXY, "192.0.2.10"),
    (2, "192.0.2.10", PROXY, PROXY),  # fewer entries than proxies: not through them all
    (1, "", PROXY, PROXY),
    (1, "198.51.100.66, garbage", PROXY, PROXY),  # not an address: never written as one
])
def test_the_login_throttle_and_the_trail_read_the_same_address(settings, proxies, forwarded, remote, expected):
    settings.PROXY_COUNT = proxies
    request = RequestFactory().post("/login/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected
    assert get_client_ip_address(request) == expected  # django-axes, as configured
