"""A source's document posted to the API, through the adapter registry
(inventory.adapters): the one way an ingest endpoint reads its body."""
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError, UnsupportedMediaType

from controltower.limits import read_body
from inventory import adapters
from inventory.ledger import IngestError


class Refusal(APIException):
    """A document refused whole with an answer of more than one line (its `answer`, kept as it is)."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, answer):
        self.detail = answer


def receive_document(request, formats, **options):
    """Post the request's body as its source, read by the adapter among
    `formats` (adapter names) that takes its content type, with the
    adapter's `options` (EPCIS: its capture error behaviour). The
    IngestReport; 415 naming the accepted types for another content type,
    400 with one line for a document that cannot be read or a batch refused
    whole (and the refusal's `answer`, when it has one), 413 past
    API_MAX_BODY_BYTES."""
    try:
        adapter = adapters.for_content_type(request.content_type, formats)
    except adapters.UnsupportedFormat as exc:
        raise UnsupportedMediaType(request.content_type, detail=str(exc))
    body = read_body(request.stream) if request.stream is not None else b""
    try:
        return adapter.receive(request.auth.source, body, **options)
    except IngestError as exc:
        answer = getattr(exc, "answer", None)
        raise Refusal(answer) if answer else ParseError(str(exc))


def request_schema(formats, serializer):
    """The OpenAPI request body of an endpoint taking `formats`: `serializer` under each content type."""
    return {content_type: serializer for name in formats for content_type in adapters.get(name).content_types}
