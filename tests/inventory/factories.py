"""factory-boy factories of inventory: master data, the ledger and what hangs off it."""
from decimal import Decimal

import factory
from django.utils import timezone as _timezone
from django.utils.timezone import now as _now

from inventory.models import (
    SKU,
    Barcode,
    ExternalId,
    InventoryEvent,
    Location,
    PurchaseOrderLine,
    Region,
    RejectedEvent,
    Snapshot,
    SnapshotLine,
    SourceSystem,
    Transfer,
    UnitConversion,
)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Region {o.code}")


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location
        django_get_or_create = ("code",)

    # A prefix no test names by hand: get_or_create never hands a test its own fixture store.
    code = factory.Sequence(lambda n: f"LOC{n:04d}")
    name = factory.LazyAttribute(lambda o: f"Store {o.code}")
    kind = Location.Kind.STORE
    region = factory.SubFactory(RegionFactory)
    timezone = "Europe/Berlin"


class SourceSystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SourceSystem
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"POS-{n:02d}")
    kind = SourceSystem.Kind.POS

    @factory.post_generation
    def lane_locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.lane_locations.set(extracted)


class SKUFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SKU
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ITEM{n:05d}")  # as LocationFactory: a prefix no test names by hand
    description = factory.LazyAttribute(lambda o: f"Item {o.code}")
    category = "Grocery"
    unit_cost = Decimal("2.50")
    base_unit = "EA"


class BarcodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Barcode

    code = factory.Sequence(lambda n: f"400{n:010d}")
    sku = factory.SubFactory(SKUFactory)


class UnitConversionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UnitConversion

    sku = factory.SubFactory(SKUFactory)
    unit = "CS12"
    factor = 12


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Position"

    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Snapshot

    source = factory.SubFactory(SourceSystemFactory, code="ERP", kind=SourceSystem.Kind.ERP)
    as_of = factory.LazyFunction(_timezone.now)
    received_at = factory.LazyFunction(_timezone.now)


class SnapshotLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SnapshotLine

    snapshot = factory.SubFactory(SnapshotFactory)
    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)
    state = "available"
    quantity = 10


class PurchaseOrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PurchaseOrderLine

    po_number = factory.Sequence(lambda n: f"PO{n:06d}")
    line = 1
    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)
    quantity_ordered = 24


class InventoryEventFactory(factory.django.DjangoModelFactory):
    """A ledger line as a row (no position is moved: post through
    inventory.ledger.ingest_events for that)."""

    class Meta:
        model = InventoryEvent

    source = factory.SubFactory(SourceSystemFactory)
    transaction_id = factory.Sequence(lambda n: f"TXN-{n:06d}")
    type = "sale"
    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)
    quantity = 1
    from_state = "available"
    occurred_at = factory.LazyFunction(_now)
    received_at = factory.LazyFunction(_now)
    latency_ms = 0
    content_hash = factory.Sequence(lambda n: f"{n:032x}")
    entered_quantity = factory.LazyAttribute(lambda o: Decimal(o.quantity))
    entered_unit = "EA"


class TransferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transfer

    reference = factory.Sequence(lambda n: f"TR-{n:05d}")
    sku = factory.SubFactory(SKUFactory)
    from_location = factory.SubFactory(LocationFactory)
    to_location = factory.SubFactory(LocationFactory)
    quantity_shipped = 6
    shipped_at = factory.LazyFunction(_now)


class RejectedEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RejectedEvent

    source = factory.SubFactory(SourceSystemFactory)
    transaction_id = factory.Sequence(lambda n: f"REJ-{n:05d}")
    payload = factory.LazyAttribute(lambda o: {"transaction_id": o.transaction_id, "type": "sale"})
    errors = factory.LazyFunction(lambda: {"sku": ["Unknown SKU 'NOPE'."]})
    cause = "sku"
    received_at = factory.LazyFunction(_now)


class ExternalIdFactory(factory.django.DjangoModelFactory):
    """A source's own id of a location (give `location`) or of a SKU (`kind="sku"`, give `sku`)."""

    class Meta:
        model = ExternalId

    source = factory.SubFactory(SourceSystemFactory)
    kind = ExternalId.Kind.LOCATION
    external_id = factory.Sequence(lambda n: str(9000 + n))
    location = factory.LazyAttribute(lambda o: LocationFactory() if o.kind == ExternalId.Kind.LOCATION else None)
    sku = factory.LazyAttribute(lambda o: SKUFactory() if o.kind == ExternalId.Kind.SKU else None)
    updated_at = factory.LazyFunction(_now)
