"""Master data, the immutable ledger and the position projection, one module
per concern; every model and rule is imported here, so `from inventory.models
import X` is the one way to name them (Django's convention for a models package).

Every quantity stored here is in the SKU's base unit. The models people see
by location have a ScopedQuerySet manager (`.restrict(user)`,
controltower.scoping) and say where their location is (`scope_fields`).
"""
from .counts import CountVariance, Snapshot, SnapshotLine
from .documents import ReceivedDocument
from .journeys import Journey, JourneyKind, JourneyStep
from .ledger import IngestDay, InventoryEvent, RejectedEvent, RejectionQuerySet, Transfer
from .master import (
    SKU,
    Barcode,
    BarcodeClash,
    Channel,
    Location,
    MasterDataChange,
    Region,
    UnitConversion,
    factor_text,
)
from .positions import CountAnchor, Position, atp_expression, available_to_promise, on_hand_expression
from .purchase_orders import PurchaseOrderLine
from .sources import CONTROL_TOWER_SOURCE, ExternalId, SourceSystem
from .tills import TillTransaction
from .trading import Holiday, TradingHours
from .vocabulary import (
    ON_HAND_STATES,
    SOURCE_EVENT_TYPES,
    STATES,
    EventType,
    SourceEventTypeChoices,
    StateChoices,
)
from .webhooks import ObservedLevel, WebhookDelivery

__all__ = [
    "CONTROL_TOWER_SOURCE",
    "ON_HAND_STATES",
    "SKU",
    "SOURCE_EVENT_TYPES",
    "STATES",
    "Barcode",
    "BarcodeClash",
    "Channel",
    "CountAnchor",
    "CountVariance",
    "EventType",
    "ExternalId",
    "IngestDay",
    "InventoryEvent",
    "Holiday",
    "Journey",
    "JourneyKind",
    "JourneyStep",
    "Location",
    "MasterDataChange",
    "ObservedLevel",
    "Position",
    "PurchaseOrderLine",
    "ReceivedDocument",
    "Region",
    "RejectedEvent",
    "RejectionQuerySet",
    "Snapshot",
    "SnapshotLine",
    "SourceEventTypeChoices",
    "SourceSystem",
    "StateChoices",
    "TillTransaction",
    "TradingHours",
    "Transfer",
    "UnitConversion",
    "WebhookDelivery",
    "atp_expression",
    "available_to_promise",
    "factor_text",
    "on_hand_expression",
]
