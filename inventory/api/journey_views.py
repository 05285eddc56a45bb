"""Journeys API v1: thin callers of inventory.journeys.

POST is for source systems (their steps, as their own source), GET for
people, scoped by the journey's location like the other lists.
"""
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ParseError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from controltower.api import IsPerson, IsSourceSystem, JSONParser
from inventory.journeys import ingest_steps
from inventory.ledger import IngestError
from inventory.models import Journey

from .filters import JourneyFilter
from .serializers import IngestResponseSerializer, JourneyIngestRequestSerializer, JourneySerializer

JOURNEY_REQUEST_EXAMPLE = {
    "steps": [
        {"transaction_id": "OMS-771-1", "journey": "order_to_fulfilment", "business_id": "WEB-100771",
         "step": "placed", "occurred_at": "2026-11-23T10:15:00+01:00", "channel": "bopis", "quantity": 3},
        {"transaction_id": "OMS-771-2", "journey": "order_to_fulfilment", "business_id": "WEB-100771",
         "step": "ready_for_pickup", "occurred_at": "2026-11-23T14:02:00+01:00", "location": "DE001"},
        {"transaction_id": "POS-9-118", "journey": "promotion_to_settlement", "business_id": "PROMO-W48:DE001",
         "step": "price_override", "occurred_at": "2026-11-23T16:40:00+01:00", "location": "DE001",
         "reason": "price_match", "cashier": "C0042", "amount": "-1.50"},
    ]
}


class JourneyListView(generics.ListAPIView):
    """GET: journeys, latest started first, scoped by their location.
    POST: a source system sends a batch of journey steps."""

    serializer_class = JourneySerializer
    filterset_class = JourneyFilter
    parser_classes = [JSONParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsSourceSystem()]
        return [IsAuthenticated(), IsPerson()]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "now": timezone.now()}

    def get_queryset(self):
        journeys = Journey.objects.restrict(self.request.user).select_related("location")
        return journeys.order_by("-started_at", "-id")

    @extend_schema(
        summary="Post a batch of journey steps (source systems only)",
        description=(
            "Steps of four journeys, each keyed by its business id: order_to_fulfilment, return_to_refund, "
            "promotion_to_settlement, inventory_to_replenishment. Every step is validated on its own: a bad "
            "step is rejected with errors per field and kept for replay, the rest of the batch still goes in. "
            "The same (source, transaction_id) with the same content is a duplicate, with different content a "
            "conflict. Steps may arrive late or twice: a journey's state follows its steps' order and times."
        ),
        request=JourneyIngestRequestSerializer,
        responses={
            200: IngestResponseSerializer,
            400: OpenApiResponse(description="Malformed envelope: not JSON, no 'steps' list, too many steps"),
            401: OpenApiResponse(description="No token, or an unknown or revoked token"),
            403: OpenApiResponse(description="The token belongs to a person, not a source system"),
        },
        examples=[OpenApiExample("A batch", value=JOURNEY_REQUEST_EXAMPLE, request_only=True)],
    )
    def post(self, request):
        body = request.data
        if not isinstance(body, dict) or "steps" not in body:
            raise ParseError("The body must be a JSON object with a 'steps' list.")
        try:
            report = ingest_steps(request.auth.source, body["steps"])
        except IngestError as exc:
            raise ParseError(str(exc))
        return Response(report.as_dict())
