"""Content-Security-Policy and Permissions-Policy on every response (pages,
API, login, error pages), as settings.CONTENT_SECURITY_POLICY and
settings.PERMISSIONS_POLICY declare them.

The policy allows scripts from our own origin only: no inline script, no
onclick, no eval (htmx's hx-on is eval: shared behaviour is in
static/js/tower.js, declared by data attributes). Styles may be inline
because Plotly and htmx write style attributes and <style> elements as
they draw.
"""
from django.conf import settings


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response
