"""factory-boy factories of exception cases."""
from decimal import Decimal

import factory
from django.utils.timezone import now as _now

from exceptions.models import Case, CorrectiveAdjustment, Team
from tests.controltower.factories import UserFactory
from tests.inventory.factories import LocationFactory, SKUFactory


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
