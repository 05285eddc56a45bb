"""The source systems that feed the tower: what each may send (its lane),
how often it is expected to, and when it was last heard from."""
from django.db import models

from .master import SKU, Channel, Location

# The source the tower posts its own lines as (corrective adjustments,
# reversals, reservation releases): not a feed, so the feed metrics of the
# whole estate leave it out.
CONTROL_TOWER_SOURCE = "CONTROL-TOWER"


class SourceSystem(models.Model):
    class Kind(models.TextChoices):
        POS = "pos", "POS"
        ECOM = "ecom", "Ecommerce"
        WMS = "wms", "WMS"
        ERP = "erp", "ERP"
        OMS = "oms", "OMS"

    class Generation(models.TextChoices):
        LEGACY = "legacy"
        TARGET = "target"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    generation = models.CharField(
        max_length=8, choices=Generation.choices, default=Generation.TARGET,
        help_text="Legacy and target systems may feed the same store during a migration.",
    )
    expected_interval_s = models.PositiveIntegerField(
        default=900, null=True, blank=True,
        help_text="A feed silent longer than this is stale (for tills: counted while their stores trade). "
                  "Empty: the source sends when it has something; never stale.",
    )
    latency_target_s = models.PositiveIntegerField(
        default=300, help_text="Target for received_at - occurred_at."
    )
    last_event_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the source last sent anything: events, journey steps, snapshots or PO lines.",
    )
    active = models.BooleanField(default=True)
    loads_master_data = models.BooleanField(
        default=False, help_text="May load locations, SKUs and PO lines (an ERP source always may)."
    )
    # Reservations (exceptions.reconciliation.reservations).
    default_channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="sources",
        help_text="The channel of this source's reservations that name none in their reason.",
    )
    releases_expired_reservations = models.BooleanField(
        default=False,
        help_text="The tower releases this source's reservations held past their channel's hold time "
                  "(a release ledger line of its own), so ATP stops hiding sellable stock.",
    )
    # The source's lane (inventory.lanes): what it may send. Empty: no restriction.
    lane_locations = models.ManyToManyField(
        Location, blank=True, related_name="lane_sources",
        help_text="The locations this source feeds; none: every location.",
    )
    lane_event_types = models.JSONField(
        default=list, blank=True, help_text="The event types this source may send; none: every type."
    )
    lane_snapshot_kinds = models.JSONField(
        default=list, blank=True, help_text="The snapshot kinds this source may send; none: every kind."
    )
    # How far apart two receipts of one event by this source may be for the
    # second to be a suspected replay (exceptions.reconciliation.stock).
    replay_window_s = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Suspected duplicates: at most this many seconds between receiving an event and its "
                  "replay under a new transaction id; empty: the tower's default "
                  "(RECONCILE_DUPLICATE_WINDOW_S).",
    )

    # Shopify signs each webhook delivery with this shared secret (HMAC-SHA256
    # of the body): sealed with a key from SECRET_KEY (controltower.sealing),
    # set by `add_source --webhook-secret`. Empty: the source posts no webhooks.
    webhook_secret = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code

    def heard_from(self, at):
        """The source sent something (any kind of message) at `at`: its
        liveness (the stale_feed cases). Never moves back in time."""
        SourceSystem.objects.filter(pk=self.pk).exclude(last_event_at__gte=at).update(last_event_at=at)


class ExternalId(models.Model):
    """A source's own identifier of a location or SKU (a till's store number,
    a Shopify location or inventory item id) and the tower's location or SKU
    it means: one table per source, loaded by `manage.py import_external_ids`
    or the API, read by inventory.identifiers."""

    class Kind(models.TextChoices):
        LOCATION = "location"
        SKU = "sku", "SKU"

    source = models.ForeignKey(SourceSystem, on_delete=models.CASCADE, related_name="external_ids")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    external_id = models.CharField(max_length=64, help_text="As the source sends it")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    sku = models.ForeignKey(SKU, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["source", "kind", "external_id"]
        verbose_name = "external identifier"
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id", "kind"], name="uniq_source_external_id"),
            models.CheckConstraint(
                condition=models.Q(kind="location", location__isnull=False, sku__isnull=True)
                | models.Q(kind="sku", sku__isnull=False, location__isnull=True),
                name="external_id_names_its_kind",
            ),
        ]

    def __str__(self):
        return f"{self.source_id} {self.kind} {self.external_id}"
