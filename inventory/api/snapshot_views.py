"""Snapshot and PO line API: thin callers of inventory.snapshots and
inventory.purchase_orders.

- POST /api/v1/snapshots: a source system's token; the snapshot is recorded
  as that source's (request.auth.source), within its lane.
- POST /api/v1/po-lines: an ERP source or a source allowed to load master
  data (within its lane's locations), or a person who is an admin or
  integration admin (inventory.lanes).
"""
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.api import IsSourceSystem
from controltower.tokens import SourceClient
from inventory.models import Snapshot
from inventory.purchase_orders import PurchaseOrderError, import_po_lines
from inventory.snapshots import SnapshotError, ingest_snapshot

from .permissions import MayLoadMasterData


def _envelope(request, *required):
    if not isinstance(request.data, dict):
        return None, Response({"detail": "The body must be a JSON object."}, status=400)
    missing = [name for name in required if name not in request.data]
    if missing:
        errors = {name: ["This field is required."] for name in missing}
        return None, Response({"detail": "Invalid input.", "errors": errors}, status=400)
    return request.data, None


# Request shapes for the OpenAPI document only: the services validate the
# lines as a batch, with per-line errors.
SNAPSHOT_LINE = inline_serializer("SnapshotLine", {
    "location": serializers.CharField(),
    "sku": serializers.CharField(required=False),
    "barcode": serializers.CharField(required=False),
    "state": serializers.CharField(required=False, help_text="Default available."),
    "quantity": serializers.DecimalField(max_digits=18, decimal_places=4),
    "unit": serializers.CharField(required=False, help_text="Default the SKU's base unit."),
    "value": serializers.DecimalField(max_digits=18, decimal_places=4, required=False,
                                      help_text="Financial value (ERP)."),
})
PO_LINE = inline_serializer("PurchaseOrderLineIn", {
    "po_number": serializers.CharField(),
    "line": serializers.CharField(),
    "location": serializers.CharField(),
    "sku": serializers.CharField(),
    "quantity": serializers.IntegerField(),
    "expected_at": serializers.DateTimeField(required=False),
})
LOAD_REPORT = OpenApiResponse(
    response=inline_serializer("LoadReport", {
        "snapshot": serializers.IntegerField(required=False, allow_null=True,
                                             help_text="The stored snapshot (snapshots only)."),
        "counts": serializers.DictField(child=serializers.IntegerField()),
        "rejected": serializers.ListField(child=serializers.DictField()),
    }),
    description="What was stored and each refused line with {field: [messages]}.",
)


class SnapshotView(APIView):
    permission_classes = [IsSourceSystem]

    @extend_schema(
        summary="Post an on-hand or valuation snapshot (up to 100,000 lines)",
        request=inline_serializer("SnapshotIn", {
            "as_of": serializers.DateTimeField(help_text="ISO 8601 with offset."),
            "kind": serializers.ChoiceField(
                choices=Snapshot.Kind.choices, required=False,
                help_text="Default on_hand; valuation is the ERP's financial valuation (lines carry a value).",
            ),
            "scope": serializers.ChoiceField(
                choices=Snapshot.Scope.choices, required=False,
                help_text=(
                    "What the snapshot speaks for. Default lines: only the location x SKU x state lines "
                    "given; a case elsewhere is left as it is. full: every SKU in every state (but "
                    "in_transit) of each location named by a line; a SKU or state of those locations "
                    "not given counts as zero."
                ),
            ),
            "lines": SNAPSHOT_LINE.__class__(many=True),
        }),
        responses={200: LOAD_REPORT, 400: OpenApiResponse(
            description="Malformed envelope, an unknown kind or scope, or a snapshot kind outside the source's lane."
        )},
    )
    def post(self, request):
        body, error = _envelope(request, "as_of", "lines")
        if error:
            return error
        try:
            report = ingest_snapshot(
                request.auth.source, body["as_of"], body["lines"], kind=body.get("kind") or Snapshot.Kind.ON_HAND,
                scope=Snapshot.Scope.LINES if body.get("scope") is None else body["scope"],
            )
        except SnapshotError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(report.as_dict())


class PurchaseOrderLineView(APIView):
    permission_classes = [MayLoadMasterData]

    @extend_schema(
        summary="Load purchase order lines (master data for receipt matching)",
        request=inline_serializer("PurchaseOrderLinesIn", {"lines": PO_LINE.__class__(many=True)}),
        responses={200: LOAD_REPORT, 400: OpenApiResponse(description="Malformed envelope.")},
    )
    def post(self, request):
        body, error = _envelope(request, "lines")
        if error:
            return error
        try:
            source = request.auth.source if isinstance(request.user, SourceClient) else None
            report = import_po_lines(body["lines"], source=source)
        except PurchaseOrderError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(report.as_dict())
