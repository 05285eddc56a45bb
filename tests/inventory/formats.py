"""A source format of the tests' own, to drive the adapter registry
(inventory.adapters) where no real format is needed."""
import orjson

from inventory import adapters


class TillRolls(adapters.Adapter):
    """One JSON event per line; an item with "ignore": a reason has no
    inventory effect (as a POSLog training-mode transaction or a voided
    line), answered in its place as ignored with that reason."""

    name = "till-rolls"
    content_types = ("application/x-till-rolls",)
    key_rule = "The line's transaction_id."
    ignored_reasons = ("training mode", "void")

    def parse(self, body):
        try:
            return [orjson.loads(line) for line in body.splitlines() if line.strip()]
        except orjson.JSONDecodeError as exc:
            raise adapters.Unparseable(f"Line is not JSON: {exc}")

    def events(self, document):
        return [
            adapters.Ignored(item["ignore"], detail=f"line {number}", key=item["transaction_id"])
            if item.get("ignore") else item
            for number, item in enumerate(document, 1)
        ]


def rolls(*items):
    return b"\n".join(orjson.dumps(item) for item in items)
