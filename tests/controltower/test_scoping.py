"""controltower.scoping: every scoped model's `.restrict(user)`, for every kind of person.

North holds stores A1 and A2, south B1 and B2. Ann manages A1, Nora is the
regional ops lead of north, Pat a planner (the whole estate)."""
import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from controltower.models import Role
from controltower.scoping import ScopedQuerySet, visible_locations
from controltower.tokens import SourceClient
from exceptions.models import Case, CorrectiveAdjustment
from inventory.models import (
    SKU,
    InventoryEvent,
    Location,
    Position,
    PurchaseOrderLine,
    RejectedEvent,
    SnapshotLine,
    Transfer,
)
from tests.controltower.factories import UserFactory, make_user
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory
from tests.inventory.factories import (
    InventoryEventFactory,
    LocationFactory,
    PositionFactory,
    PurchaseOrderLineFactory,
    RegionFactory,
    RejectedEventFactory,
    SnapshotLineFactory,
    SourceSystemFactory,
    TransferFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def estate():
    north, south = RegionFactory(code="NORTH"), RegionFactory(code="SOUTH")
    stores = {code: LocationFactory(code=code, region=north if code[0] == "A" else south)
              for code in ("A1", "A2", "B1", "B2")}
    return stores


@pytest.fixture
def people(estate):
    return {
        "ann": make_user(Role.STORE_MANAGER, [estate["A1"]], username="ann"),
        "nora": make_user(Role.REGIONAL_OPS, region=estate["A1"].region, username="nora"),
        "pat": make_user(Role.PLANNER, username="pat"),
        "nobody": UserFactory(username="nobody"),  # no profile: no role
        "lead-without-region": make_user(Role.REGIONAL_OPS, username="lost"),
    }


# Each model that is at one location: how to make a row at a store.
AT_A_STORE = {
    Case: lambda store: CaseFactory(location=store),
    Position: lambda store: PositionFactory(location=store),
    InventoryEvent: lambda store: InventoryEventFactory(location=store),
    SnapshotLine: lambda store: SnapshotLineFactory(location=store),
    PurchaseOrderLine: lambda store: PurchaseOrderLineFactory(location=store),
    CorrectiveAdjustment: lambda store: CorrectiveAdjustmentFactory(case=CaseFactory(location=store)),
}
SEES = {"ann": {"A1"}, "nora": {"A1", "A2"}, "pat": {"A1", "A2", "B1", "B2"}, "nobody": set(),
        "lead-without-region": set()}


def _code(row):
    return row.code if isinstance(row, Location) else (row.location.code)


@pytest.mark.parametrize("model", list(AT_A_STORE), ids=lambda m: m.__name__)
@pytest.mark.parametrize("person", list(SEES))
def test_a_row_at_one_store_is_seen_by_who_sees_the_store(estate, people, model, person):
    for store in estate.values():
        AT_A_STORE[model](store)
    seen = model.objects.restrict(people[person])
    assert {_code(row) for row in seen} == SEES[person]
    assert seen.count() == len(SEES[person])  # one row each: the join repeats nothing


@pytest.mark.parametrize("person", list(SEES))
def test_locations_are_in_scope_themselves(estate, people, person):
    assert {loc.code for loc in Location.objects.restrict(people[person])} == SEES[person]
    assert set(visible_locations(people[person]).values_list("code", flat=True)) == SEES[person]


def test_a_case_on_no_location_is_for_the_estate_roles(people):
    case = CaseFactory(location=None, sku=None, fingerprint="feed|no-location")
    assert list(Case.objects.restrict(people["pat"])) == [case]
    assert not Case.objects.restrict(people["ann"]).exists()
    assert not Case.objects.restrict(people["nora"]).exists()


def test_a_transfer_is_seen_at_either_end_once(estate, people):
    A1, A2, B1, B2 = (estate[code] for code in ("A1", "A2", "B1", "B2"))
    out_of_a1 = TransferFactory(reference="A1-B2", from_location=A1, to_location=B2)
    into_a2 = TransferFactory(reference="SUP-A2", from_location=None, to_location=A2)
    within_north = TransferFactory(reference="A1-A2", from_location=A1, to_location=A2)
    TransferFactory(reference="B1-B2", from_location=B1, to_location=B2)
    ann = Transfer.objects.restrict(people["ann"])
    assert sorted(ann.values_list("reference", flat=True)) == ["A1-A2", "A1-B2"]
    nora = Transfer.objects.restrict(people["nora"])
    assert set(nora) == {out_of_a1, into_a2, within_north} and nora.count() == 3
    assert Transfer.objects.restrict(people["pat"]).count() == 4
    assert not Transfer.objects.restrict(people["nobody"]).exists()


def test_rejections_are_for_the_estate_and_a_source_sees_its_own(people):
    pos, wms = SourceSystemFactory(code="POS-1"), SourceSystemFactory(code="WMS-1")
    own = RejectedEventFactory(source=pos)
    RejectedEventFactory(source=wms)
    assert RejectedEvent.objects.restrict(people["pat"]).count() == 2
    assert RejectedEvent.objects.restrict(make_user(Role.EXECUTIVE)).count() == 2
    for person in ("ann", "nora", "nobody"):
        assert not RejectedEvent.objects.restrict(people[person]).exists(), person
    assert list(RejectedEvent.objects.restrict(SourceClient(pos))) == [own]


@pytest.mark.parametrize("model", [*AT_A_STORE, Location, Transfer], ids=lambda m: m.__name__)
def test_a_source_system_reads_no_peoples_data(estate, model):
    """Sources read locations and SKUs through the API's own rule, not through scope."""
    source = SourceSystemFactory()
    if model in AT_A_STORE:
        AT_A_STORE[model](estate["A1"])
    assert not model.objects.restrict(SourceClient(source)).exists()


def test_restrict_narrows_an_already_filtered_queryset(estate, people):
    mine, _ = CaseFactory(location=estate["A1"], severity=1), CaseFactory(location=estate["A1"], severity=3)
    CaseFactory(location=estate["B1"], severity=1)
    assert list(Case.objects.filter(severity=1).restrict(people["ann"])) == [mine]


def test_a_scoped_model_without_scope_fields_is_a_mistake(people):
    with pytest.raises(ImproperlyConfigured):
        ScopedQuerySet(model=SKU).restrict(people["ann"])


# Models that point at a location but are never read by a person, so need no scope.
UNSCOPED = {
    "controltower.Profile",  # who manages what: the scope itself
    "inventory.SourceSystem",  # a source's lane locations: master data
    "inventory.ExternalId",  # a source's own ids of locations: admins and integration admins only
    "inventory.CountAnchor",  # the ledger's fold bookkeeping
    "inventory.TradingHours",  # trading calendar settings (admin)
    "inventory.Holiday",
    "exceptions.RoutingRule",
    "exceptions.Team",
}


def _points_at_a_location(model):
    for field in model._meta.get_fields():
        target = getattr(field, "related_model", None)
        if field.is_relation and not field.auto_created and target is not None and target._meta.label in (
                "inventory.Location", "inventory.Region"):
            return True
    return False


def test_every_model_at_a_location_has_a_scoped_manager():
    """A new model with a location gets `.restrict(user)`, or is named above with why not."""
    for model in apps.get_models():
        label = model._meta.label
        scoped = isinstance(model._default_manager.all(), ScopedQuerySet)
        if scoped and type(model._default_manager.all()).restrict_person is ScopedQuerySet.restrict_person:
            assert getattr(model, "scope_fields", None), f"{label}: scope_fields missing"
            for path in model.scope_fields:
                target = model
                for name in filter(None, path.split("__")):
                    target = target._meta.get_field(name).related_model
                assert target is Location, f"{label}.{path} does not lead to a Location"
        if _points_at_a_location(model) and label not in UNSCOPED and model is not Location:
            assert scoped, f"{label} points at a location but has no ScopedQuerySet manager"
    assert isinstance(RejectedEvent.objects.all(), ScopedQuerySet)
    assert isinstance(Location.objects.all(), ScopedQuerySet)
