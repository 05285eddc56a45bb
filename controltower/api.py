"""Shared API pieces: the exception handler that keeps error bodies uniform."""
import orjson
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .limits import read_body


class JSONParser(BaseParser):
    """The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): orjson,
    reading at most API_MAX_BODY_BYTES (413 beyond). Not a subclass of DRF's
    JSONParser on purpose: DRF reads those through request.body, capped at
    Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), too small for a snapshot."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_body(stream)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}")


def exception_handler(exc, context):
    """DRF's handler, with every error body carrying a top-level `detail`.
    Django's RequestDataTooBig (a form or JSON body over
    DATA_UPLOAD_MAX_MEMORY_SIZE) is a 413 with a JSON detail, not an HTML 400."""
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": f"The request body is too large: {exc}"}, status=413)
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" not in response.data:
        response.data = {"detail": "Invalid input.", "errors": response.data}
    return response
