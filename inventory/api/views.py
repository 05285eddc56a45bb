"""Inventory API v1: thin callers of inventory.ledger and controltower.scoping.

Who may call what:
- A source system's token (request.user is a SourceClient) may POST events,
  always as its own source (request.auth.source). It may GET locations and
  SKUs, to validate its feed, and its own rejections. Positions and ledger
  lines are the retailer's data, read by people: a source gets 403.
- A person (token or session) may GET everything, narrowed by
  controltower.scoping; posting events is for source systems only (403).
- Loading locations and SKUs (POST) is for admins and integration admins,
  an ERP source and a source allowed to load master data (inventory.lanes).
"""
from django.db.models import OuterRef, Subquery
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.api import ImportReportSerializer, IsPerson, IsSourceSystem, JSONParser, body_list
from controltower.scoping import visible_locations
from controltower.tokens import SourceClient
from inventory.masterdata import import_locations, import_skus
from inventory.models import (
    SKU,
    STATES,
    Channel,
    CountVariance,
    IngestDay,
    InventoryEvent,
    Location,
    Position,
    RejectedEvent,
    atp_expression,
    on_hand_expression,
)
from inventory.safety_stock import set_safety_stock

from . import schema  # noqa: F401  (registers the token scheme with drf-spectacular)
from .documents import receive_document, request_schema
from .filters import (
    EventFilter,
    IngestDayFilter,
    LocationFilter,
    PositionFilter,
    RejectionFilter,
    SKUFilter,
)
from .permissions import MayLoadMasterData
from .serializers import (
    EventSerializer,
    IngestDaySerializer,
    IngestRequestSerializer,
    IngestResponseSerializer,
    LocationImportSerializer,
    LocationSerializer,
    PositionSerializer,
    RejectionSerializer,
    SafetyStockRequestSerializer,
    SKUImportSerializer,
    SKUSerializer,
)


def _sku_row_as_csv(row):
    """An API SKU row in the CSV's form: barcodes and conversions may come as lists."""
    if not isinstance(row, dict):
        return row
    row = dict(row)
    if isinstance(row.get("barcodes"), list):
        row["barcodes"] = ";".join(str(code) for code in row["barcodes"])
    if isinstance(row.get("conversions"), list):
        row["conversions"] = ";".join(
            f"{item.get('unit', '')}={item.get('factor', '')}" if isinstance(item, dict) else str(item)
            for item in row["conversions"]
        )
    return row


MASTER_DATA_RESPONSES = {
    200: ImportReportSerializer,
    400: OpenApiResponse(description="The body is not a JSON object with the list of rows"),
    401: OpenApiResponse(description="No token, or an unknown or revoked token"),
    403: OpenApiResponse(description="Not an admin, integration admin or source allowed to load master data"),
}

INGEST_REQUEST_EXAMPLE = {
    "events": [
        {
            "transaction_id": "POS-0001-000042",
            "type": "sale",
            "location": "S001",
            "sku": "SKU00017",
            "quantity": 2,
            "occurred_at": "2026-11-23T10:15:00+01:00",
            "reference": "RCPT-000042",
        },
        {
            "transaction_id": "POS-0001-000043",
            "type": "receipt",
            "location": "S001",
            "barcode": "4006381333931",
            "quantity": 3,
            "unit": "CS12",
            "occurred_at": "2026-11-23T10:20:00+01:00",
            "reference": "PO-7781",
        },
        {
            "transaction_id": "POS-0001-000044",
            "type": "transfer_out",
            "location": "S001",
            "to_location": "S002",
            "sku": "SKU00017",
            "quantity": 5,
            "occurred_at": "2026-11-23T10:30:00+01:00",
            "reference": "TR-118",
        },
    ]
}
INGEST_RESPONSE_EXAMPLE = {
    "counts": {"accepted": 2, "duplicate": 0, "conflict": 0, "rejected": 1},
    "results": [
        {"transaction_id": "POS-0001-000042", "status": "accepted", "errors": {}},
        {"transaction_id": "POS-0001-000043", "status": "accepted", "errors": {}},
        {
            "transaction_id": "POS-0001-000044",
            "status": "rejected",
            "errors": {"to_location": ["Unknown location 'S002'."]},
        },
    ],
}


# The formats POST /events takes (inventory.adapters).
EVENT_FORMATS = ["events"]


class EventListView(generics.ListAPIView):
    """GET: ledger lines, newest first, scoped by their location.
    POST: a source system sends a batch of events."""

    serializer_class = EventSerializer
    filterset_class = EventFilter

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), IsSourceSystem()]
        return [IsAuthenticated(), IsPerson()]

    def get_queryset(self):
        events = InventoryEvent.objects.restrict(self.request.user)
        return events.order_by("-id").values(
            "id", "source__code", "transaction_id", "type", "location__code", "sku__code",
            "quantity", "entered_quantity", "entered_unit", "from_state", "to_state",
            "to_location__code", "reference", "reason", "cashier", "occurred_at", "received_at", "latency_ms",
        )

    @extend_schema(
        summary="Post a batch of inventory events (source systems only)",
        description=(
            "Every event is validated on its own: a bad event is rejected with errors per field "
            "and kept for replay, the rest of the batch still goes in. The same (source, "
            "transaction_id) with the same content is a duplicate, with different content a "
            "conflict. Quantities are converted to the SKU's base unit with its unit conversions."
        ),
        request=request_schema(EVENT_FORMATS, IngestRequestSerializer),
        responses={
            200: IngestResponseSerializer,
            400: OpenApiResponse(description="Malformed envelope: not JSON, no 'events' list, too many events"),
            401: OpenApiResponse(description="No token, or an unknown or revoked token"),
            403: OpenApiResponse(description="The token belongs to a person, not a source system"),
        },
        examples=[
            OpenApiExample("A batch", value=INGEST_REQUEST_EXAMPLE, request_only=True),
            OpenApiExample("Per-event results", value=INGEST_RESPONSE_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request):
        return Response(receive_document(request, EVENT_FORMATS).as_dict())


class PositionListView(generics.ListAPIView):
    """Quantities per state for each location x SKU, scoped by location."""

    serializer_class = PositionSerializer
    filterset_class = PositionFilter
    permission_classes = [IsAuthenticated, IsPerson]

    def get_serializer_context(self):
        channels = Channel.objects.order_by("code").values_list("code", "holds_back_safety_stock")
        return {**super().get_serializer_context(), "channels": list(channels)}

    def get_queryset(self):
        positions = Position.objects.restrict(self.request.user)
        # The position's latest cycle count (any state) and its variance (inventory.counts).
        last_count = CountVariance.objects.filter(
            location_id=OuterRef("location_id"), sku_id=OuterRef("sku_id")
        ).order_by("-counted_at", "-event_id")
        return (
            positions.annotate(
                on_hand=on_hand_expression(),
                atp=atp_expression(),
                last_counted_at=Subquery(last_count.values("counted_at")[:1]),
                last_count_variance=Subquery(last_count.values("variance")[:1]),
            )
            .order_by("location__code", "sku__code")
            .values(
                "location__code", "sku__code", *STATES, "on_hand", "safety_stock", "atp", "updated_at",
                "last_counted_at", "last_count_variance",
            )
        )


class SafetyStockView(APIView):
    """POST: set safety stock per location x SKU (inventory.safety_stock)."""

    parser_classes = [JSONParser]
    permission_classes = [IsAuthenticated, MayLoadMasterData]

    @extend_schema(
        summary="Set safety stock (admins, integration admins, the ERP)",
        description=(
            "The columns of the safety stock CSV. Each line sets the safety stock of one location x SKU "
            "(a whole number of base units, 0 or more) or is refused with errors per field; the rest load. "
            "The online channels see available minus safety stock as ATP."
        ),
        request=SafetyStockRequestSerializer,
        responses=MASTER_DATA_RESPONSES,
        examples=[OpenApiExample(
            "Two lines", request_only=True,
            value={"lines": [{"location": "DE001", "sku": "SKU10001", "safety_stock": 4},
                             {"location": "DE002", "sku": "SKU10001", "safety_stock": 0}]},
        )],
    )
    def post(self, request):
        return Response(set_safety_stock(body_list(request, "lines")).as_dict())


class LocationListView(generics.ListAPIView):
    """GET: locations a person may see; a source system sees them all.
    POST: load locations (upsert by code)."""

    serializer_class = LocationSerializer
    filterset_class = LocationFilter
    parser_classes = [JSONParser]

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), MayLoadMasterData()]
        return [IsAuthenticated()]

    def get_queryset(self):
        if isinstance(self.request.user, SourceClient):
            locations = Location.objects.all()
        else:
            locations = visible_locations(self.request.user)
        return locations.select_related("region").order_by("code")

    @extend_schema(
        summary="Load locations (admins, integration admins, the ERP)",
        description="The columns of the locations CSV. Each row loads or is refused with errors per field.",
        request=LocationImportSerializer,
        responses=MASTER_DATA_RESPONSES,
    )
    def post(self, request):
        return Response(import_locations(body_list(request, "locations")).as_dict())


class SKUListView(generics.ListAPIView):
    """GET: the item master, visible to every person and source system.
    POST: load SKUs with their barcodes and unit conversions (upsert by code)."""

    serializer_class = SKUSerializer
    filterset_class = SKUFilter
    parser_classes = [JSONParser]
    queryset = SKU.objects.prefetch_related("barcodes", "conversions").order_by("code")

    def get_permissions(self):
        if self.request.method == "POST":
            return [IsAuthenticated(), MayLoadMasterData()]
        return [IsAuthenticated()]

    @extend_schema(
        summary="Load SKUs (admins, integration admins, the ERP)",
        description=(
            "The columns of the SKU CSV. A SKU missing cost, base unit or category, a barcode of "
            "another SKU or a conflicting conversion is refused with errors per field."
        ),
        request=SKUImportSerializer,
        responses=MASTER_DATA_RESPONSES,
        examples=[
            OpenApiExample(
                "One SKU",
                request_only=True,
                value={"skus": [{
                    "code": "SKU00017", "description": "Milk 1l", "category": "Dairy", "unit_cost": "0.89",
                    "base_unit": "EA", "barcodes": ["4006381333931"], "conversions": [{"unit": "CS12", "factor": 12}],
                }]},
            )
        ],
    )
    def post(self, request):
        rows = [_sku_row_as_csv(row) for row in body_list(request, "skus")]
        return Response(import_skus(rows).as_dict())


class IngestDayListView(generics.ListAPIView):
    """What each source sent per day (UTC) and how ingest answered it, newest
    day first: events received, accepted, duplicates (same transaction id,
    same content: acknowledged, not posted again), conflicts and rejected.
    `duplicate_rate` is duplicates over received; `longest_resend_s` the
    longest time between a key's first receipt and its resend that day.
    Seen like rejections: estate-wide roles every source, a source its own."""

    serializer_class = IngestDaySerializer
    filterset_class = IngestDayFilter

    def get_queryset(self):
        return IngestDay.objects.restrict(self.request.user).select_related("source").order_by("-day", "source__code")


class RejectionListView(generics.ListAPIView):
    """Kept rejected events, newest first.

    Rejections are integration data with no trusted location (an unknown
    location is a common cause), so people with an estate-wide role see them
    all, a source system sees its own, and store or region scoped people none.
    """

    serializer_class = RejectionSerializer
    filterset_class = RejectionFilter

    def get_queryset(self):
        return RejectedEvent.objects.restrict(self.request.user).select_related("source").order_by("-id")
