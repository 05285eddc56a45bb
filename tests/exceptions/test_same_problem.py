"""Two cases about the same problem (same location, SKU, quantity and value
at risk) link to each other on both case pages."""
from decimal import Decimal

import pytest
from django.urls import reverse

from controltower.models import Role
from tests.controltower.factories import make_user
from tests.exceptions.factories import CaseFactory
from tests.inventory.factories import LocationFactory, SKUFactory

pytestmark = pytest.mark.django_db


def test_two_cases_about_the_same_problem_link_each_other(client):
    store, sku = LocationFactory(), SKUFactory()
    negative = CaseFactory(location=store, sku=sku, quantity_at_risk=31, value_at_risk=Decimal("62.00"))
    mismatch = CaseFactory(location=store, sku=sku, kind="snapshot_mismatch", quantity_at_risk=31,
                           value_at_risk=Decimal("62.00"))
    other_value = CaseFactory(location=store, sku=sku, quantity_at_risk=31, value_at_risk=Decimal("61.00"))
    other_sku = CaseFactory(location=store, quantity_at_risk=31, value_at_risk=Decimal("62.00"))
    client.force_login(make_user(Role.STORE_MANAGER, [store]))
    first = client.get(reverse("case-detail", args=[negative.pk]))
    second = client.get(reverse("case-detail", args=[mismatch.pk]))
    assert list(first.context["same_problem"]) == [mismatch]
    assert list(second.context["same_problem"]) == [negative]
    assert f'href="/cases/{mismatch.pk}/"' in first.content.decode()
    assert f'href="/cases/{negative.pk}/"' in second.content.decode()
    for unrelated in (other_value, other_sku):
        page = client.get(reverse("case-detail", args=[unrelated.pk]))
        assert list(page.context["same_problem"]) == []
        assert "The same problem in another case" not in page.content.decode()


def test_cases_with_nothing_at_risk_are_not_the_same_problem(client):
    store, sku = LocationFactory(), SKUFactory()
    first = CaseFactory(location=store, sku=sku, quantity_at_risk=0, value_at_risk=Decimal("0"))
    CaseFactory(location=store, sku=sku, kind="idempotency_conflict", quantity_at_risk=0, value_at_risk=Decimal("0"))
    client.force_login(make_user(Role.STORE_MANAGER, [store]))
    assert list(client.get(reverse("case-detail", args=[first.pk])).context["same_problem"]) == []
