"""factory-boy factories, one per model."""
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from controltower.models import ApiToken, Profile, Role
from inventory.models import SKU, Barcode, Location, Region, SourceSystem, UnitConversion


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

    code = factory.Sequence(lambda n: f"S{n:03d}")
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

    code = factory.Sequence(lambda n: f"SKU{n:05d}")
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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password("pw-for-tests")


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.STORE_MANAGER

    @factory.post_generation
    def locations(self, create, extracted, **kwargs):
        if create and extracted:
            self.locations.set(extracted)


def make_user(role, locations=(), region=None, username=None):
    """A user with a profile of `role` scoped to `locations` or `region`."""
    kwargs = {"username": username} if username else {}
    profile = ProfileFactory(user=UserFactory(**kwargs), role=role, region=region, locations=list(locations))
    return profile.user


def source_token(source):
    """Issue an API token for a source system; returns the raw key."""
    return ApiToken.issue(source=source)[1]


class PositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "inventory.Position"

    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)


def person_token(user):
    """Issue an API token for a person; returns the raw key."""
    return ApiToken.issue(user=user)[1]


# --- Snapshots and PO lines (inventory) ---------------------------------------

from django.utils import timezone as _timezone  # noqa: E402

from inventory.models import PurchaseOrderLine, Snapshot, SnapshotLine  # noqa: E402


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


# --- Exception cases ------------------------------------------------------------

from django.utils.timezone import now as _now  # noqa: E402

from exceptions.models import Case, Team  # noqa: E402


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"TEAM{n:02d}")
    name = factory.LazyAttribute(lambda o: f"Team {o.code}")
    kind = Team.Kind.STORE
    email = factory.LazyAttribute(lambda o: f"{o.code.lower()}@example.com")


class CaseFactory(factory.django.DjangoModelFactory):
    """An open negative-stock case; no SLA unless the test sets due times."""

    class Meta:
        model = Case

    kind = "negative_stock"
    severity = 3
    location = factory.SubFactory(LocationFactory)
    sku = factory.SubFactory(SKUFactory)
    reference = factory.Sequence(lambda n: f"ref-{n}")
    fingerprint = factory.LazyAttribute(lambda o: f"{o.kind}|{o.location.pk}|{o.sku.pk}|{o.reference}")
    opened_at = factory.LazyFunction(_now)
    summary = "POS sold 3 more than the store had; available is -3"
    quantity_at_risk = 3


# --- Ledger lines, transfers, rejections, adjustments (the scoped models) ----------

from inventory.models import InventoryEvent, RejectedEvent, Transfer  # noqa: E402
from exceptions.models import CorrectiveAdjustment  # noqa: E402


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


class CorrectiveAdjustmentFactory(factory.django.DjangoModelFactory):
    """An adjustment waiting for finance, on its case's store and SKU."""

    class Meta:
        model = CorrectiveAdjustment

    case = factory.SubFactory(CaseFactory)
    sku = factory.LazyAttribute(lambda o: o.case.sku)
    location = factory.LazyAttribute(lambda o: o.case.location)
    state = "available"
    quantity = 20
    value = Decimal("50.00")
    status = CorrectiveAdjustment.Status.PENDING_APPROVAL
    transaction_id = factory.Sequence(lambda n: f"case-adj-{n:05d}")
    requested_by = factory.SubFactory(UserFactory)
    requested_at = factory.LazyFunction(_now)
