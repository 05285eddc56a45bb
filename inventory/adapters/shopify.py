"""Shopify's inventory webhooks: one delivery per request, the topic and
delivery ids in its headers, the payload a JSON object.

`inventory_levels/update` says how many of an inventory item are available
at a location, as of its `updated_at`: an observation, posted through
inventory.observations (a snapshot line that reconciliation compares with
the ledger, never an overwrite of the position), not a movement. Every
other topic is answered `ignored`. Shopify's ids are 64-bit: the body is
read by orjson, which keeps integers past 2^53 exact, and each id becomes
its decimal string, the source's foreign identifier.

The endpoint checks the delivery's HMAC before anything here runs
(inventory.webhooks); each delivery is kept once (WebhookDelivery), so a
repeat of it reads `duplicate`.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import orjson
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import fields, received_documents
from ..ingest_counts import count_batch
from ..models import WebhookDelivery
from ..ledger import EventResult, IngestReport
from ..observations import NOT_NEWER, observe
from .registry import Adapter, Ignored, Unparseable

LEVEL_UPDATE = "inventory_levels/update"
OTHER_TOPIC = "not an inventory level update"
NOT_TRACKED = "not tracked"
# Shopify's webhook headers, the X- spelling first; its newer deliveries drop the X-.
SIGNATURE_HEADERS = ("X-Shopify-Hmac-Sha256", "Shopify-Hmac-Sha256")
TOPIC_HEADERS = ("X-Shopify-Topic", "Shopify-Topic")
EVENT_ID_HEADERS = ("X-Shopify-Event-Id", "Shopify-Event-Id")
WEBHOOK_ID_HEADERS = ("X-Shopify-Webhook-Id", "Shopify-Webhook-Id")
# A GraphQL global id, gid://shopify/InventoryItem/808950810: the number is the REST id.
_GID = re.compile(r"gid://shopify/[A-Za-z]+/([0-9]+)", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: its id (the idempotency key), topic and payload."""

    delivery_id: str
    topic: str
    payload: dict


def header(headers, names):
    """The first of `names` the request carries, stripped; "" when none does."""
    for name in names:
        value = headers.get(name)
        if value and value.strip():
            return value.strip()
    return ""


def delivery_id(headers, body: bytes) -> str:
    """Shopify's event id, else its webhook id (both repeated on a retry),
    else the SHA-256 of the body; an id past 128 characters by its SHA-256 too."""
    sent = header(headers, EVENT_ID_HEADERS) or header(headers, WEBHOOK_ID_HEADERS)
    if sent and fields.code(sent, max_length=128):
        return sent
    return "sha256:" + hashlib.sha256(sent.encode() if sent else body).hexdigest()


def shopify_id(value):
    """A Shopify id as its decimal string: from a JSON integer (exact, however
    large), a string of digits or a GraphQL gid; other values as they came,
    for the resolver to refuse by name."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        match = _GID.fullmatch(text)
        if match:
            return match.group(1)
        if _DIGITS.fullmatch(text):
            return text
    return value


class ShopifyInventory(Adapter):
    name = "shopify"
    content_types = ("application/json",)
    key_rule = (
        "The delivery's X-Shopify-Event-Id header, else its X-Shopify-Webhook-Id (a retry repeats both), "
        "else the SHA-256 of the body."
    )
    ignored_reasons = (OTHER_TOPIC, NOT_TRACKED, NOT_NEWER)

    def parse(self, body):
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Unparseable(f"The body is not valid JSON: {exc}")
        if not isinstance(payload, dict):
            raise Unparseable("The body must be a JSON object (Shopify's webhook payload).")
        return payload

    def events(self, delivery: Delivery) -> list:
        """The delivery's observation in the tower's words, or why it is ignored."""
        if delivery.topic != LEVEL_UPDATE:
            return [Ignored(OTHER_TOPIC, f"topic {delivery.topic or '(none)'}", key=delivery.delivery_id)]
        payload = delivery.payload
        if "available" in payload and payload["available"] is None:
            # Shopify sends null for an item whose inventory it does not track.
            return [Ignored(NOT_TRACKED, "Shopify does not track this item's inventory (available is null).",
                            key=delivery.delivery_id)]
        return [{
            "transaction_id": delivery.delivery_id,
            "location": shopify_id(payload.get("location_id")),
            "sku": shopify_id(payload.get("inventory_item_id")),
            "quantity": payload.get("available"),
            "state": "available",
            "as_of": payload.get("updated_at"),
        }]

    def post(self, source, delivery: Delivery, received_at=None) -> IngestReport:
        items = self.events(delivery)
        report = observe(source, [item for item in items if not isinstance(item, Ignored)], received_at=received_at)
        return self.answer(items, report)

    def receive_delivery(self, source, body: bytes, headers, received_at=None) -> IngestReport:
        """Take one signed delivery of `source`: each is answered (never
        raises for its content), once; a repeat of its id reads duplicate."""
        received_at = received_at or timezone.now()
        key = delivery_id(headers, body)
        topic = header(headers, TOPIC_HEADERS)[:64]
        refused = ""  # why the body cannot be read at all
        with transaction.atomic():
            try:
                with transaction.atomic():
                    kept = WebhookDelivery.objects.create(
                        source=source, delivery_id=key, topic=topic, received_at=received_at,
                        status=WebhookDelivery.Status.ACCEPTED,
                    )
            except IntegrityError:  # this delivery came before
                report = IngestReport([EventResult(key, "duplicate")], counts_ignored=True)
            else:
                try:
                    report = self.post(source, Delivery(key, topic, self.parse(body)), received_at)
                except Unparseable as exc:
                    # Answered 200 all the same: a retry of these bytes would read no better.
                    refused = str(exc)
                    report = IngestReport([EventResult(key, "rejected", {"body": [refused]})], counts_ignored=True)
                answer = report.results[0]
                kept.status = answer.status
                kept.reason = answer.reason[:64]
                kept.save(update_fields=["status", "reason"])
            # Recorded as every format's documents are; one that cannot be read is kept whole.
            if refused:
                received_documents.record(source, self.name, body, received_at, error=refused)
            else:
                received_documents.record(source, self.name, body, received_at, report=report)
            counted = {status: n for status, n in report.counts.items() if status != "ignored"}
            count_batch(source, received_at, counted)
        source.heard_from(received_at)
        return report
