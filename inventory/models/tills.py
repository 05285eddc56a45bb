"""What each till transaction said it came to (POSLog's totals), kept for the
store-day sales check against the ERP's postings (inventory.till_totals)."""
from django.db import models

from .master import Location
from .sources import SourceSystem


class TillTransaction(models.Model):
    """One retail transaction of a till, as its POSLog said: its key, its
    totals, and how its lines were read. Posting the document again updates it."""

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="till_transactions")
    store = models.CharField(max_length=64, help_text="The store id as the till sends it")
    # The tower's location of `store`, when the store id names one (by code or the source's mapping).
    location = models.ForeignKey(Location, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    workstation = models.CharField(max_length=64)
    sequence = models.CharField(max_length=64)
    business_day = models.DateField()
    ended_at = models.CharField(max_length=40, blank=True, help_text="The till's time, as it sent it")
    cashier = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    grand_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    tax_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=32, help_text="counted, or why its lines were ignored (training mode...)")
    sale_lines = models.PositiveIntegerField(default=0)
    return_lines = models.PositiveIntegerField(default=0)
    ignored_lines = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source", "store", "workstation", "sequence", "business_day"], name="uniq_till_transaction"
            ),
        ]
        indexes = [models.Index(fields=["business_day", "store"], name="till_txn_day_store")]

    def __str__(self):
        return f"{self.source_id} {self.store}/{self.workstation}/{self.sequence}/{self.business_day}"
