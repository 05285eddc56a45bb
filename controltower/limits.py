"""The size limit of API request bodies.

Every API body is at most settings.API_MAX_BODY_BYTES (64 MiB by default,
env API_MAX_BODY_BYTES): room for the largest batch the API takes, a
snapshot of 100,000 lines (a 5,000-event ingest batch or 50,000 PO lines is
far smaller). A larger body is refused with 413 and a JSON `detail`:

- by its Content-Length, in ApiBodyLimitMiddleware, before any view,
  authentication or parsing runs;
- while it is read, in read_body() (the API's JSON parser,
  controltower.api.JSONParser), for a body whose length was not declared
  up front.

Form and multipart bodies on the API (the browsable API) go through
Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB); its RequestDataTooBig answers
413 with a JSON detail too (controltower.api.exception_handler). The web
screens' form posts keep Django's limits and answers.
"""
from django.conf import settings
from django.http import JsonResponse
from rest_framework import status
from rest_framework.exceptions import APIException

API_PREFIX = "/api/"
READ_CHUNK = 1 << 20


def too_large_detail(limit=None):
    limit = settings.API_MAX_BODY_BYTES if limit is None else limit
    return f"The request body is larger than the API accepts ({limit} bytes at most)."


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "body_too_large"

    def __init__(self, limit=None):
        super().__init__(too_large_detail(limit))


def read_body(stream):
    """The whole body from `stream`, refused with BodyTooLarge (413) as soon
    as more than API_MAX_BODY_BYTES have come in."""
    limit = settings.API_MAX_BODY_BYTES
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(READ_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge(limit)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class ApiBodyLimitMiddleware:
    """413 for an API request that declares a body over API_MAX_BODY_BYTES."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(API_PREFIX):
            declared = request.META.get("CONTENT_LENGTH") or "0"
            try:
                length = int(declared)
            except ValueError:
                return JsonResponse({"detail": "The Content-Length header is not a number."}, status=400)
            if length > settings.API_MAX_BODY_BYTES:
                return JsonResponse({"detail": too_large_detail()}, status=413)
        return self.get_response(request)
