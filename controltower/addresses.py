"""The client's address: one rule for the login throttle (django-axes) and the audit trail.

With no proxy in front (settings.PROXY_COUNT 0) it is the connection's own, REMOTE_ADDR: an
X-Forwarded-For header is then only the client's word, and anyone could write any address in it.
Behind N proxies, each one appends the address it took the request from, so the client's is the
Nth from the right; whatever stands left of it is again the client's word. A request whose header
has fewer entries than there are proxies (it did not come through them all), or whose entry is not
an address, gets REMOTE_ADDR.
"""
import ipaddress

from auditlog.middleware import AuditlogMiddleware
from django.conf import settings


def client_address(request):
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.PROXY_COUNT
    if not proxies:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote
    return _address(forwarded[-proxies]) or remote


def _address(text):
    """`text` as an IP address, without a port ("203.0.113.7:5123", "[2001:db8::1]:443"); None when not one."""
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


class AuditMiddleware(AuditlogMiddleware):
    """auditlog's middleware (who and from where, for the audit trail) with the app's rule for the
    address: auditlog's own takes X-Forwarded-For and X-Forwarded-Port from any client."""

    @staticmethod
    def _get_remote_addr(request):
        return client_address(request)

    @staticmethod
    def _get_remote_port(request):
        return None  # only X-Forwarded-Port would say it, and the client can write that
