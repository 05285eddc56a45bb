"""Snapshot and PO line API: thin callers of inventory.snapshots and
inventory.purchase_orders.

- POST /api/v1/snapshots: a source system's token; the snapshot is recorded
  as that source's (request.auth.source).
- POST /api/v1/po-lines: a source system's token, or a person who is an
  admin or integration admin.
"""
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.models import Role
from controltower.scoping import role_of
from controltower.tokens import SourceClient
from inventory.purchase_orders import PurchaseOrderError, import_po_lines
from inventory.snapshots import SnapshotError, ingest_snapshot


class IsSourceSystem(BasePermission):
    message = "Only a source system's token may post a snapshot; this token belongs to a person."

    def has_permission(self, request, view):
        return isinstance(request.user, SourceClient)


class MayLoadPurchaseOrders(BasePermission):
    message = "PO lines are loaded by a source system, an admin or an integration admin."

    def has_permission(self, request, view):
        if isinstance(request.user, SourceClient):
            return True
        return role_of(request.user) in (Role.ADMIN, Role.INTEGRATION_ADMIN)


def _envelope(request, *required):
    if not isinstance(request.data, dict):
        return None, Response({"detail": "The body must be a JSON object."}, status=400)
    missing = [name for name in required if name not in request.data]
    if missing:
        errors = {name: ["This field is required."] for name in missing}
        return None, Response({"detail": "Invalid input.", "errors": errors}, status=400)
    return request.data, None


class SnapshotView(APIView):
    permission_classes = [IsSourceSystem]

    def post(self, request):
        body, error = _envelope(request, "as_of", "lines")
        if error:
            return error
        try:
            report = ingest_snapshot(request.auth.source, body["as_of"], body["lines"])
        except SnapshotError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(report.as_dict())


class PurchaseOrderLineView(APIView):
    permission_classes = [MayLoadPurchaseOrders]

    def post(self, request):
        body, error = _envelope(request, "lines")
        if error:
            return error
        try:
            report = import_po_lines(body["lines"])
        except PurchaseOrderError as exc:
            return Response({"detail": str(exc)}, status=400)
        return Response(report.as_dict())
