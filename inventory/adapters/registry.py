"""The adapter registry: every source format the tower hears, declared once.

An adapter turns one document of its format into the tower's raw events
(what inventory.ledger.validate_event reads) and posts them through the
ledger service, `ingest_events`, so every format gets the same per-item
answer (accepted, duplicate, conflict, rejected with the field), the same
lanes, the same kept rejections and replay, the same counts per source and
day. An endpoint names the adapters it takes and finds the one for a body
by its content type (`for_content_type`).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.utils import timezone

from .. import received_documents
from ..ledger import EventResult, IngestError, IngestReport, ingest_events


class Unparseable(IngestError):
    """The document cannot be read at all: refused whole, with one line saying why."""


@dataclass(frozen=True)
class Ignored:
    """An item of a document with no inventory effect (a training-mode
    transaction, a voided line, a control transaction): `events` returns it
    in the item's place, and it is answered and counted as ignored with its
    `reason`, one of the adapter's `ignored_reasons`. `detail` says which
    item (a line number, an event id); `key` is its idempotency key, if any."""

    reason: str
    detail: str = ""
    key: str = ""


class UnsupportedFormat(ValueError):
    """No adapter of the endpoint takes this content type (an HTTP 415)."""

    def __init__(self, content_type, accepted):
        self.content_type = content_type
        self.accepted = tuple(accepted)
        shown = content_type or "(none)"
        super().__init__(f'Unsupported media type "{shown}": send one of {", ".join(self.accepted)}.')


class Adapter(ABC):
    """A source format. A subclass declares:

    - `name`: how endpoints, commands and counts name the format;
    - `content_types`: the media types of its documents, preferred first;
    - `key_rule`: how each event's idempotency key (its `transaction_id`,
      at most 128 characters) comes from the document, in one sentence: the
      format's own id, or the fields that make a line unique when it has none;

    and implements `parse` and `events`. A format of observations (held
    quantities, not movements) overrides `post` to go through the snapshot
    service instead of the ledger's."""

    name: str = ""
    content_types: tuple[str, ...] = ()
    key_rule: str = ""
    ignored_reasons: tuple[str, ...] = ()

    @abstractmethod
    def parse(self, body: bytes):
        """The document in `body`; Unparseable (one line) when it cannot be read."""

    @abstractmethod
    def events(self, document) -> list:
        """The tower's raw events the document says, in its order, with an
        `Ignored` in the place of each item that has no inventory effect."""

    def post(self, source, document, received_at=None) -> IngestReport:
        items = self.events(document)
        if not isinstance(items, list):  # refused by the ledger service, as the batch it is not
            return ingest_events(source, items, received_at=received_at)
        report = ingest_events(
            source, [item for item in items if not isinstance(item, Ignored)], received_at=received_at)
        return self.answer(items, report)

    def answer(self, items, report) -> IngestReport:
        """The report of `items` in document order: each ignored one where it
        stood, the others' results (`report`, of the events posted) around them."""
        posted = iter(report.results)
        results = []
        for item in items:
            if not isinstance(item, Ignored):
                results.append(next(posted))
            elif item.reason not in self.ignored_reasons:
                raise ValueError(f"{self.name}: {item.reason!r} is not one of its declared ignored_reasons.")
            else:
                results.append(EventResult(item.key, "ignored", reason=item.reason, detail=item.detail))
        return IngestReport(results, counts_ignored=bool(self.ignored_reasons))

    def receive(self, source, body: bytes, received_at=None, **options) -> IngestReport:
        """Parse `body` and post what it says as `source` (with the format's
        `options`, e.g. EPCIS's capture error behaviour), and record the
        document (inventory.received_documents). Raises Unparseable or
        IngestError when it is refused whole: nothing of it is posted, and
        the document is kept with its body and the one line why."""
        received_at = received_at or timezone.now()
        try:
            report = self.post(source, self.parse(body), received_at=received_at, **options)
        except IngestError as refused:
            received_documents.record(source, self.name, body, received_at, error=str(refused))
            raise
        received_documents.record(source, self.name, body, received_at, report=report)
        return report


_adapters: dict[str, Adapter] = {}


def register(adapter: Adapter) -> Adapter:
    """Add a format to the registry (inventory.adapters registers each one once)."""
    if not adapter.name or not adapter.content_types or not adapter.key_rule:
        raise ValueError(f"{type(adapter).__name__} must declare its name, content types and key rule.")
    if adapter.name in _adapters:
        raise ValueError(f"An adapter named {adapter.name!r} is already registered.")
    _adapters[adapter.name] = adapter
    return adapter


def registered() -> list[Adapter]:
    """Every registered adapter, by name."""
    return [_adapters[name] for name in sorted(_adapters)]


def get(name: str) -> Adapter:
    return _adapters[name]


def media_type(content_type: str | None) -> str:
    """The media type of a Content-Type header, without its parameters: 'application/json'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def for_content_type(content_type: str | None, names=None) -> Adapter:
    """The adapter for a body of `content_type` among the adapters `names`
    (an endpoint's formats, in its order of preference; None: every one).
    Raises UnsupportedFormat naming the types those adapters take."""
    candidates = [get(name) for name in names] if names is not None else registered()
    wanted = media_type(content_type)
    for adapter in candidates:
        if wanted in adapter.content_types:
            return adapter
    accepted = dict.fromkeys(t for adapter in candidates for t in adapter.content_types)
    raise UnsupportedFormat(content_type, accepted)
