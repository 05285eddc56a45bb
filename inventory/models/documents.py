"""The documents sources send in their own formats (inventory.adapters):
each one received is recorded with what became of its lines; one that could
not be read at all is kept whole, so nothing a source sent is lost."""
from django.db import models
from django.db.models import Q

from .sources import SourceSystem


class ReceivedDocument(models.Model):
    """One document an adapter received (Adapter.receive): its size and
    digest, how its lines were answered (ignored ones by reason, rejected
    ones by cause, the first failing field), and, when it was refused whole,
    the one line why and its body (at most API_MAX_BODY_BYTES)."""

    class Status(models.TextChoices):
        POSTED = "posted", "Posted"  # read; its lines answered one by one
        REFUSED = "refused", "Refused"  # unreadable, or refused whole: nothing of it stored but this

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="documents")
    format = models.CharField(max_length=32, help_text="The adapter's name (inventory.adapters)")
    received_at = models.DateTimeField()
    size = models.BigIntegerField(help_text="Bytes")
    sha256 = models.CharField(max_length=64)
    lines = models.PositiveIntegerField(default=0, help_text="Items the document holds")
    accepted = models.PositiveIntegerField(default=0)
    duplicate = models.PositiveIntegerField(default=0)
    conflict = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    ignored = models.PositiveIntegerField(default=0)
    ignored_by_reason = models.JSONField(default=dict, blank=True, help_text='{"training mode": 3}')
    rejected_by_cause = models.JSONField(default=dict, blank=True, help_text='{"sku": 2}')
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.POSTED)
    error = models.TextField(blank=True, help_text="Why it was refused, in one line")
    body = models.BinaryField(null=True, blank=True, help_text="Kept when refused")
    truncated = models.BooleanField(default=False, help_text="The body kept is its first API_MAX_BODY_BYTES")

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at"], name="document_received"),
            models.Index(fields=["-received_at"], name="document_refused",
                         condition=Q(status="refused")),
        ]

    def __str__(self):
        return f"{self.source_id} {self.format} {self.received_at:%Y-%m-%d %H:%M:%S}"
