"""When locations trade: opening hours per weekday and closed days, for a
location, a region or a kind of location; edited in the admin. The SLA
clock (exceptions.services.sla) and a till's silence (inventory.sources) count only
this time (inventory.trading reads it)."""
from django.core.validators import MaxValueValidator
from django.db import models

from .master import Location, Region


class TradingHours(models.Model):
    """Opening hours for one weekday, for a location, a region, or (neither)
    the default for a kind of location. Most specific wins; a location with
    no hours anywhere trades around the clock. `closes` 00:00 means midnight
    at the end of the day."""

    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE)
    location_kind = models.CharField(max_length=16, blank=True, help_text="Default for this kind of location")
    weekday = models.PositiveSmallIntegerField(validators=[MaxValueValidator(6)], help_text="0 = Monday")
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday", "opens"]
        verbose_name_plural = "trading hours"


class Holiday(models.Model):
    """A closed day for a location, a region, or (neither) the whole estate."""

    date = models.DateField()
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.CASCADE)
    region = models.ForeignKey(Region, null=True, blank=True, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]
