"""The store, SKU and till most inventory tests post to (a module may define
its own with other codes)."""
import pytest

from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory


@pytest.fixture
def store():
    return LocationFactory(code="S001")


@pytest.fixture
def sku():
    return SKUFactory(code="SKU00001")


@pytest.fixture
def pos():
    return SourceSystemFactory(code="POS-EU")
