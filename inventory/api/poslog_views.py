"""POSLog API: thin callers of the POSLog adapter (inventory.adapters.poslog)
and the store-day sales check (inventory.till_totals).

- POST /api/v1/poslog: a source system's token posts one POSLog document
  (application/xml); answered per line item like /events.
- GET /api/v1/poslog/store-days?from=&to=: the tills' totals per store and
  business day beside the units booked and the ERP's postings, for people
  (a store or region sees its own locations; finance and the integration
  admin the whole estate, stores no location is known for included).
"""
from datetime import date, timedelta

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.api import IsPerson, IsSourceSystem
from controltower.scoping import ESTATE_ROLES, role_of, visible_locations
from inventory.till_totals import store_day_sales

from .documents import receive_document
from .serializers import IngestResponseSerializer

POSLOG_FORMATS = ["poslog"]
NRF = "http://www.nrf-arts.org/IXRetail/namespace/"
LONGEST_SPAN_DAYS = 92


def _element(name, properties, array=False):
    schema = {"type": "object", "xml": {"name": name, "namespace": NRF}, "properties": properties}
    if array:
        return {"type": "array", "items": schema, "xml": {"name": name, "namespace": NRF}}
    return schema


def _text(name, example):
    return {"type": "string", "example": example, "xml": {"name": name, "namespace": NRF}}


# The shape of a POSLog document for the OpenAPI document (and the fuzzer):
# the elements the adapter reads. The adapter reads any POSLog, line by line.
POSLOG_SCHEMA = _element("POSLog", {
    "Transaction": _element("Transaction", {
        "RetailStoreID": _text("RetailStoreID", "S001"),
        "WorkstationID": _text("WorkstationID", "3"),
        "SequenceNumber": _text("SequenceNumber", "1042"),
        "BusinessDayDate": _text("BusinessDayDate", "2026-11-23"),
        "EndDateTime": _text("EndDateTime", "2026-11-23T10:15:00+01:00"),
        "OperatorID": _text("OperatorID", "94"),
        "RetailTransaction": _element("RetailTransaction", {
            "LineItem": _element("LineItem", {
                "SequenceNumber": _text("SequenceNumber", "1"),
                "Sale": _element("Sale", {
                    "ItemID": _text("ItemID", "4006381333931"),
                    "Quantity": _text("Quantity", "2"),
                }),
            }, array=True),
        }),
    }, array=True),
})


class PosLogView(APIView):
    """POST one POSLog document as the token's source system."""

    permission_classes = [IsAuthenticated, IsSourceSystem]

    @extend_schema(
        summary="Post a POSLog document (ARTS / NRF IXRetail; source systems only)",
        description=(
            "One POSLog document (namespace http://www.nrf-arts.org/IXRetail/namespace/ or "
            "http://www.nrf-arts.org/IXRetail/v6.0.0/poslog). Every line item is answered in document "
            "order: a sale or return accepted, duplicate, conflict or rejected (with the field), or "
            "ignored with its reason (training mode, not finished, void, control transaction, "
            "non-inventory line, non-stock item). A line's key is store/workstation/sequence/day/line, "
            "so posting a document again changes nothing. A document that is not well-formed XML, or "
            "declares a DTD or an entity, is refused in one line. docs/formats.md has the mapping."
        ),
        request={"application/xml": POSLOG_SCHEMA, "text/xml": POSLOG_SCHEMA},
        responses={
            200: IngestResponseSerializer,
            400: OpenApiResponse(description="Not a POSLog document: not well-formed, a DTD or entity, another root"),
            401: OpenApiResponse(description="No token, or an unknown or revoked token"),
            403: OpenApiResponse(description="The token belongs to a person, not a source system"),
            413: OpenApiResponse(description="Larger than API_MAX_BODY_BYTES"),
            415: OpenApiResponse(description="Not application/xml (or text/xml)"),
        },
    )
    def post(self, request):
        return Response(receive_document(request, POSLOG_FORMATS).as_dict())


class StoreDaySerializer(serializers.Serializer):
    source = serializers.CharField()
    store = serializers.CharField(help_text="The store id as the tills send it")
    location = serializers.CharField(allow_null=True, help_text="The tower's location, null when none is known")
    business_day = serializers.DateField()
    transactions = serializers.IntegerField(help_text="Finished transactions, counted")
    not_counted = serializers.IntegerField(help_text="Training mode, suspended, voided: lines ignored")
    grand_amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Sum of the tills' totals")
    tax_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    sale_lines = serializers.IntegerField()
    return_lines = serializers.IntegerField()
    sold_units = serializers.IntegerField(help_text="Units the ledger booked from the sale lines (base units)")
    returned_units = serializers.IntegerField()
    erp_posted_units = serializers.IntegerField(allow_null=True, help_text="null: the ERP posted nothing")
    gap_units = serializers.IntegerField(allow_null=True, help_text="sold_units - erp_posted_units")


def _day(request, name):
    value = request.query_params.get(name, "")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: [f"A date as YYYY-MM-DD is required; got {value[:40]!r}."]})


class StoreDaySalesView(APIView):
    """GET the store-day sales check of the days asked for."""

    permission_classes = [IsAuthenticated, IsPerson]

    @extend_schema(
        summary="The tills' totals per store-day beside the units booked and the ERP's postings",
        parameters=[
            OpenApiParameter("from", date, required=True, description="First business day"),
            OpenApiParameter("to", date, required=True,
                             description=f"Last business day (at most {LONGEST_SPAN_DAYS} days)"),
        ],
        responses={200: StoreDaySerializer(many=True),
                   400: OpenApiResponse(description="A date missing or not YYYY-MM-DD, or too long a span")},
    )
    def get(self, request):
        start, end = _day(request, "from"), _day(request, "to")
        if end < start or end - start > timedelta(days=LONGEST_SPAN_DAYS - 1):
            raise ValidationError({"to": [f"On or after 'from', at most {LONGEST_SPAN_DAYS} days on."]})
        # The whole estate also sees the stores no location is known for.
        locations = None if role_of(request.user) in ESTATE_ROLES else visible_locations(request.user)
        rows = store_day_sales(start, end, locations=locations)
        return Response(StoreDaySerializer(rows, many=True).data)
