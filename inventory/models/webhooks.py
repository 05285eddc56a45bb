"""What a source's webhooks delivered (Shopify's): each delivery once, so a
repeat reads duplicate, and the latest quantity each of its item x location
pairs reported, so an older observation arriving late does not replace it."""
from django.db import models

from .counts import Snapshot
from .sources import SourceSystem
from .vocabulary import StateChoices


class WebhookDelivery(models.Model):
    """One delivery a source's webhook made, by its own id (Shopify's event
    id, else its webhook id): a second delivery with that id is a duplicate."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted"
        IGNORED = "ignored"
        REJECTED = "rejected"

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, db_index=False, related_name="+")
    delivery_id = models.CharField(max_length=128)
    topic = models.CharField(max_length=64, blank=True)
    received_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices)
    reason = models.CharField(max_length=64, blank=True, help_text="Why an ignored delivery was ignored")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="uniq_webhook_delivery"),
        ]

    def __str__(self):
        return f"{self.source_id}:{self.delivery_id} {self.status}"


class ObservedLevel(models.Model):
    """The latest quantity a source reported in one state at one of its own
    (location, item) pairs, in its own ids, and the snapshot that holds it:
    reports are settled by the time the source says the quantity held
    (`observed_at`, Shopify's updated_at), not by their order of arrival."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, db_index=False, related_name="+")
    location_ref = models.CharField(max_length=64, help_text="The source's own location id")
    sku_ref = models.CharField(max_length=64, help_text="The source's own item id")
    state = models.CharField(max_length=20, choices=StateChoices.choices, default=StateChoices.AVAILABLE)
    quantity = models.BigIntegerField()
    observed_at = models.DateTimeField()
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "location_ref", "sku_ref", "state"], name="uniq_observed_level",
            ),
        ]

    def __str__(self):
        return f"{self.source_id}: {self.quantity} {self.state} of {self.sku_ref} at {self.location_ref}"
