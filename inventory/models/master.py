"""Master data: regions, locations, sales channels, the item master (SKUs,
their barcodes and unit conversions), the barcode clashes an import refused
and the item master fixes people made on a screen."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models

from controltower.scoping import ScopedQuerySet

class Region(models.Model):
    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Location(models.Model):
    class Kind(models.TextChoices):
        STORE = "store"
        DC = "dc", "DC"
        ECOMMERCE = "ecommerce"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.STORE)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="locations")
    timezone = models.CharField(max_length=64, default="UTC")
    banner = models.CharField(max_length=100, blank=True)
    format = models.CharField(max_length=100, blank=True)
    go_live_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    gln = models.CharField(
        "GLN", max_length=13, unique=True, null=True, blank=True,
        help_text="GS1 Global Location Number (13 digits): how EPCIS and other GS1 sources name it",
    )

    objects = ScopedQuerySet.as_manager()
    scope_fields = ("",)  # a location is in scope itself

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class Channel(models.Model):
    """A sales channel: how long its reservations may be held, and whether it
    sells the safety stock (the ATP it sees).

    Data an admin edits; the migration loads store, web cart, BOPIS and
    ship-from-store. A reserve event names its channel by its `reason` (the
    channel's code, exactly); one that names none is its source's default
    channel's (SourceSystem.default_channel), and without that it is held for
    RECONCILIATION["reservation_hold_minutes"]
    (exceptions.reconciliation.reservations)."""

    code = models.CharField(max_length=32, unique=True, help_text="What a reserve event gives as its reason.")
    name = models.CharField(max_length=200)
    hold_minutes = models.PositiveIntegerField(
        help_text="A reservation older than this that was never picked or released opens a case."
    )
    holds_back_safety_stock = models.BooleanField(
        default=True,
        help_text="Sees available minus safety stock as ATP (online); off: sells all of available (the till).",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class SKU(models.Model):
    code = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=300)
    category = models.CharField(max_length=100)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=4)
    base_unit = models.CharField(max_length=16, default="EA")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = "SKU"

    def __str__(self):
        return self.code


class Barcode(models.Model):
    code = models.CharField(max_length=64, unique=True)
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="barcodes")

    def __str__(self):
        return self.code


class BarcodeClash(models.Model):
    """A barcode an item master import tried to give to a second SKU: the row
    was refused (DOMAIN.md, item master validation), and the clash is kept
    here, because a barcode on two SKUs in the source's item master is a
    data-readiness fact (the duplicate_barcodes metric), not only a line in
    one import's report."""

    barcode = models.CharField(max_length=64)
    sku_code = models.CharField(max_length=64, help_text="The SKU the refused row was for")
    held_by = models.CharField(max_length=64, help_text="The SKU that has the barcode (stored, or earlier in the file)")
    refused_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"{self.barcode}: {self.sku_code} (held by {self.held_by})"


class UnitConversion(models.Model):
    """`unit` of this SKU holds `factor` base units: a pack a whole number
    (CS12 = 12 EA), a measure any decimal (LBR = 453.59237 G). How a
    quantity in a unit becomes whole base units: inventory.ledger.validation,
    `base_quantity`."""

    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, related_name="conversions")
    unit = models.CharField(max_length=16)
    factor = models.DecimalField(max_digits=19, decimal_places=9, validators=[MinValueValidator(1)])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sku", "unit"], name="uniq_sku_unit")]

    def __str__(self):
        return f"{self.sku.code} {self.unit}={self.factor_text}"

    @property
    def factor_text(self):
        """The factor as people write it: 12, 453.59237."""
        return factor_text(self.factor)


def factor_text(factor):
    """A conversion factor without trailing zeros: Decimal('12.000000000') -> '12'."""
    return format(Decimal(factor).normalize(), "f")


class MasterDataChange(models.Model):
    """A change a person made to the item master on a screen (inventory.fixes):
    who, when, which SKU and what changed ({field: [before, after]}; barcodes
    and conversions: what was added), and the rejection it was made for."""

    changed_at = models.DateTimeField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    username = models.CharField(max_length=150, help_text="Kept if the person is deleted")
    sku_code = models.CharField(max_length=64)
    created = models.BooleanField(default=False, help_text="The SKU was new")
    changes = models.JSONField()
    rejection = models.ForeignKey("inventory.RejectedEvent", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="fixes")

    class Meta:
        indexes = [models.Index(fields=["sku_code", "changed_at"], name="master_data_change_sku")]

    def __str__(self):
        return f"{self.sku_code} by {self.username} at {self.changed_at:%Y-%m-%d %H:%M}"
