"""Shared API pieces: the JSON parser, the exception handler that keeps error
bodies uniform, who may call (a source system's token or a person), the
report of a load of rows, and the three steps every API view that calls a
service takes (the body's list, the validated input, the service's refusal
as a 400)."""
import orjson
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .limits import read_body
from .tokens import SourceClient


class JSONParser(BaseParser):
    """The API's JSON parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES; the
    ingest views take JSON only, with `parser_classes = [JSONParser]`):
    orjson, as an ingest batch holds up to 5,000 events, reading at most
    API_MAX_BODY_BYTES (413 beyond). Not a subclass of DRF's JSONParser on
    purpose: DRF reads those through request.body, capped at Django's
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), too small for a snapshot."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        body = read_body(stream)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}")


class IsSourceSystem(BasePermission):
    """A source system's token (request.user is a SourceClient): posting its feed."""

    message = "Only a source system's token may post this; this token belongs to a person."

    def has_permission(self, request, view):
        return isinstance(request.user, SourceClient)


class IsPerson(BasePermission):
    """A person (a token or a session): the retailer's data is read by people."""

    message = ("This is for people; a source system's token may read locations, SKUs and its own "
               "rejections only.")

    def has_permission(self, request, view):
        return not isinstance(request.user, SourceClient)


class RefusedRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="Position in the posted list, from 1")
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class ImportReportSerializer(serializers.Serializer):
    """controltower.imports.ImportReport: what a load of rows did."""

    loaded = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    refused = RefusedRowSerializer(many=True)


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


def document_limits(result, generator, request, public):
    """drf-spectacular postprocessing hook: every API operation documents its
    429 (throttled, with Retry-After) and every one that takes a body its 413
    (over API_MAX_BODY_BYTES), so clients and the docs page see the limits."""
    from django.conf import settings

    too_large = {"description": f"The body is over {settings.API_MAX_BODY_BYTES:,} bytes (API_MAX_BODY_BYTES)."}
    throttled = {
        "description": "Too many requests for this token, or from this address for a webhook (API_THROTTLE_RATES); "
                       "wait Retry-After seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    }
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["responses"].setdefault("429", throttled)
            if method in ("post", "put", "patch"):
                operation["responses"].setdefault("413", too_large)
    return result


def run_service(call, *args, **kwargs):
    """Call a domain service; its ValidationError becomes a 400 naming the fields."""
    try:
        return call(*args, **kwargs)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


def validated(serializer_class, request):
    """The request body checked by `serializer_class` (400 naming the fields)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def body_list(request, key):
    """The `key` list of a JSON object body (a batch of rows or lines)."""
    body = request.data
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        raise ParseError(f"The body must be a JSON object with a '{key}' list.")
    return body[key]
