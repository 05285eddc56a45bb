"""A valid event as a source sends it, to be varied field by field."""
from datetime import timedelta

from django.utils import timezone


def event(**fields):
    """A receipt of 5 SKU00001 at S001 ten minutes ago; `fields` override."""
    occurred = timezone.now() - timedelta(minutes=10)
    return {
        "transaction_id": "T1",
        "type": "receipt",
        "location": "S001",
        "sku": "SKU00001",
        "quantity": 5,
        "occurred_at": occurred.isoformat(),
        "reference": "PO-1",
        **fields,
    }
