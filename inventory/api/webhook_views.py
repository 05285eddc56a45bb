"""Webhooks: POST /api/v1/webhooks/shopify/<source code>, a thin caller of
inventory.webhooks (the signature) and the Shopify adapter (the delivery).

No token: Shopify cannot send one. The delivery is authenticated by its
HMAC-SHA256 under the source's webhook secret (`add_source --webhook-secret`),
checked on the raw body before anything is read or stored: a missing or
wrong signature, an unknown or inactive source and a source without a
secret are all the same 401, so the answer tells nothing about which
sources exist. A signed delivery is answered 200 whatever it says (Shopify
retries anything else), per item like /events. Deliveries are counted per
client address (API_THROTTLE_WEBHOOK): beyond it 429, which Shopify retries.
"""
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from controltower.limits import read_body
from controltower.throttles import WebhookThrottle
from inventory import adapters
from inventory.adapters.shopify import LEVEL_UPDATE, SIGNATURE_HEADERS, header
from inventory.models import SourceSystem
from inventory.webhooks import signature_matches, webhook_secret

from .serializers import IngestResponseSerializer

UNSIGNED = "No X-Shopify-Hmac-Sha256 (or Shopify-Hmac-Sha256) header: Shopify signs every delivery."
MISMATCH = ("The X-Shopify-Hmac-Sha256 signature does not match the body under this source's webhook secret "
            "(set by manage.py add_source CODE --kind ecom --webhook-secret SECRET).")

LEVEL_EXAMPLE = {
    "inventory_item_id": 271878346596884015,
    "location_id": 24826418,
    "available": 6,
    "updated_at": "2026-11-23T10:15:00-05:00",
    "admin_graphql_api_id": "gid://shopify/InventoryLevel/24826418?inventory_item_id=271878346596884015",
}
ANSWER_EXAMPLE = {
    "counts": {"accepted": 1, "duplicate": 0, "conflict": 0, "rejected": 0, "ignored": 0},
    "results": [{"transaction_id": "b54557e4-8a5f-4f7d-9d7b-0bcd043a1e2f", "status": "accepted", "errors": {}}],
}

class ShopifyWebhookView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [WebhookThrottle]

    @extend_schema(
        summary="Receive a Shopify inventory webhook (signed by HMAC, no token)",
        description=(
            f"One Shopify webhook delivery. `{LEVEL_UPDATE}` is an observation of `available` at (inventory "
            "item, location), mapped through the source's foreign identifiers and compared with the ledger "
            "as a snapshot line; an observation older than the one kept for its item and location is "
            "ignored; other topics are ignored with a reason. A repeated delivery (same X-Shopify-Event-Id, "
            "else X-Shopify-Webhook-Id) reads duplicate."
        ),
        parameters=[
            OpenApiParameter("source_code", str, OpenApiParameter.PATH, description="The source's code"),
            OpenApiParameter("X-Shopify-Hmac-Sha256", str, OpenApiParameter.HEADER, required=False,
                             description="Base64 HMAC-SHA256 of the raw body under the source's webhook secret"),
            OpenApiParameter("X-Shopify-Topic", str, OpenApiParameter.HEADER, required=False,
                             description=f"e.g. {LEVEL_UPDATE}"),
            OpenApiParameter("X-Shopify-Event-Id", str, OpenApiParameter.HEADER, required=False),
            OpenApiParameter("X-Shopify-Webhook-Id", str, OpenApiParameter.HEADER, required=False),
        ],
        request={"application/json": inline_serializer("ShopifyInventoryLevel", {
            "inventory_item_id": serializers.IntegerField(),
            "location_id": serializers.IntegerField(),
            "available": serializers.IntegerField(allow_null=True),
            "updated_at": serializers.DateTimeField(),
            "admin_graphql_api_id": serializers.CharField(required=False),
        })},
        responses={
            200: IngestResponseSerializer,
            401: OpenApiResponse(description="No signature, a wrong one, or no webhook secret for this source"),
        },
        examples=[
            OpenApiExample("inventory_levels/update", value=LEVEL_EXAMPLE, request_only=True),
            OpenApiExample("Answer", value=ANSWER_EXAMPLE, response_only=True),
        ],
    )
    def post(self, request, source_code):
        body = read_body(request.stream) if request.stream is not None else b""
        sent = header(request.headers, SIGNATURE_HEADERS)
        if not sent:
            return Response({"detail": UNSIGNED}, status=401)
        source = SourceSystem.objects.filter(code=source_code, active=True).first()
        secret = webhook_secret(source) if source is not None else None
        if not signature_matches(secret, body, sent):
            return Response({"detail": MISMATCH}, status=401)
        report = adapters.get("shopify").receive_delivery(source, body, request.headers)
        return Response(report.as_dict())
