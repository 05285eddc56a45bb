"""Source formats: one module per format, registered here once.

Each adapter turns a document of its format into the tower's events and
posts them through the ledger service (inventory.adapters.registry says
what an adapter declares). An endpoint takes the adapters it names:

    adapter = for_content_type(request.content_type, ["events"])
    report = adapter.receive(source, body)
"""
from .epcis.capture import EpcisJson, EpcisXml
from .events import TowerEvents
from .poslog import POSLog
from .registry import (
    Adapter,
    Ignored,
    Unparseable,
    UnsupportedFormat,
    for_content_type,
    get,
    register,
    registered,
)
from .shopify import ShopifyInventory

register(TowerEvents())
register(EpcisJson())
register(EpcisXml())
register(POSLog())
register(ShopifyInventory())

__all__ = [
    "Adapter",
    "Ignored",
    "Unparseable",
    "UnsupportedFormat",
    "for_content_type",
    "get",
    "register",
    "registered",
]
