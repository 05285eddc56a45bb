"""EPCIS 2.0 capture (GS1's capture interface): a thin caller of inventory.adapters.epcis.

POST /api/v1/epcis/capture takes one EPCISDocument (or one event) as
JSON-LD or XML from a source system's token, posted as that source within
its lane. The header GS1-Capture-Error-Behaviour says what an invalid
event does: rollback (the default) refuses the whole document, proceed
posts the valid events.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.api import IsSourceSystem
from inventory.adapters.epcis.capture import BEHAVIOURS, ROLLBACK

from .documents import receive_document
from .serializers import IngestResponseSerializer

EPCIS_FORMATS = ["epcis", "epcis-xml"]
BEHAVIOUR_HEADER = "GS1-Capture-Error-Behaviour"

CAPTURE_EXAMPLE = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "schemaVersion": "2.0",
    "creationDate": "2026-11-23T10:30:00Z",
    "epcisBody": {"eventList": [{
        "type": "ObjectEvent",
        "eventID": "urn:uuid:6f0d1c6e-3d4b-4f0e-9a51-2b8e1f0c9a10",
        "eventTime": "2026-11-23T10:15:00+01:00",
        "eventTimeZoneOffset": "+01:00",
        "action": "OBSERVE",
        "bizStep": "receiving",
        "bizLocation": {"id": "urn:epc:id:sgln:4012345.00001.0"},
        "epcList": ["urn:epc:id:sgtin:4012345.011111.1001", "urn:epc:id:sgtin:4012345.011111.1002"],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.022222.L42", "quantity": 12}],
        "bizTransactionList": [{"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:DES-881"}],
    }]},
}


class EpcisCaptureView(APIView):
    permission_classes = [IsAuthenticated, IsSourceSystem]

    @extend_schema(
        summary="Capture an EPCIS 2.0 document (source systems only)",
        description=(
            "One EPCISDocument, or one event, as JSON-LD (application/ld+json, application/json) or "
            "XML (application/xml). It is validated by GS1's EPCIS JSON schema and the standard's "
            "semantic rules; each event becomes ledger lines by its bizStep and disposition "
            "(docs/formats.md), keyed by its eventID or its CBV 2.0 event hash, so a resent document "
            "reads duplicate. With GS1-Capture-Error-Behaviour: rollback (the default) a document with "
            "an invalid event is refused whole (400 naming the event and the field) and nothing of it "
            "is stored; with proceed the valid events go in and the invalid ones are answered rejected. "
            "An errorDeclaration reverses the declared event's ledger lines."
        ),
        parameters=[OpenApiParameter(
            BEHAVIOUR_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, enum=list(BEHAVIOURS),
            description="What an invalid event does to its document: rollback (default) or proceed.",
        )],
        request={"application/ld+json": OpenApiTypes.OBJECT, "application/json": OpenApiTypes.OBJECT,
                 "application/xml": OpenApiTypes.STR},
        responses={
            200: IngestResponseSerializer,
            400: OpenApiResponse(description="Not an EPCIS document, an invalid event under rollback "
                                             "(detail and invalid: event, eventID, field, message), or an "
                                             "unknown GS1-Capture-Error-Behaviour"),
            401: OpenApiResponse(description="No token, or an unknown or revoked token"),
            403: OpenApiResponse(description="The token belongs to a person, not a source system"),
            413: OpenApiResponse(description="The body is larger than API_MAX_BODY_BYTES"),
            415: OpenApiResponse(description="Another content type than JSON-LD or XML"),
        },
        examples=[OpenApiExample("One receiving event", value=CAPTURE_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        behaviour = request.headers.get(BEHAVIOUR_HEADER, ROLLBACK).strip().lower()
        if behaviour not in BEHAVIOURS:
            return Response({"detail": f"{BEHAVIOUR_HEADER}: {behaviour!r} is not one of "
                                       f"{', '.join(BEHAVIOURS)}."}, status=400)
        return Response(receive_document(request, EPCIS_FORMATS, behaviour=behaviour).as_dict())
