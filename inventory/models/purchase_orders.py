"""Purchase order lines, the master data a receipt's reference is matched to."""
from django.db import models

from controltower.scoping import ScopedQuerySet

from .master import SKU, Location

class PurchaseOrderLine(models.Model):
    """A PO line as master data: a receipt's reference should name an open one."""

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"

    po_number = models.CharField(max_length=64)
    line = models.PositiveIntegerField()
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="po_lines")
    sku = models.ForeignKey(SKU, on_delete=models.PROTECT, related_name="po_lines")
    quantity_ordered = models.BigIntegerField()
    quantity_received = models.BigIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    expected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("location",)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["po_number", "line"], name="uniq_po_line")]
        indexes = [models.Index(fields=["po_number", "location", "sku"], name="po_line_match")]

    def __str__(self):
        return f"{self.po_number}/{self.line}"
