"""The tower's own format: the JSON body of POST /api/v1/events,
{"events": [...]}, each event already in the tower's words (validated by
inventory.ledger.validation, field by field)."""
import orjson

from .registry import Adapter, Unparseable


class TowerEvents(Adapter):
    name = "events"
    content_types = ("application/json",)
    key_rule = "The event's own transaction_id, unique per source."

    def parse(self, body):
        try:
            # No body at all reads as an empty object, refused below for its missing list.
            document = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError as exc:
            raise Unparseable(f"The body is not valid JSON: {exc}")
        if not isinstance(document, dict) or "events" not in document:
            raise Unparseable("The body must be a JSON object with an 'events' list.")
        return document

    def events(self, document):
        return document["events"]
