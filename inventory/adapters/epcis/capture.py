"""EPCIS 2.0 capture: an EPCISDocument (JSON-LD or XML) into the ledger.

As the standard's capture interface says, `GS1-Capture-Error-Behaviour`
decides what an invalid event does to its document: `rollback` (the
default) refuses the document whole, naming the event and the field, and
stores nothing of it; `proceed` posts the valid events and answers the
invalid ones as rejected with their errors. "Invalid" is the standard's:
GS1's JSON schema, the semantic checks, the mapping's own needs (a shipping
without a destination location). A valid event whose location or GTIN the
tower does not know is the ledger's per-line rejection, kept for replay,
in either behaviour.

An event with an `errorDeclaration` says the event of the same id (its
eventID, or the same hash) did not happen as recorded: each of its ledger
lines gets one compensating line (a reversal posted by the tower, its
reference naming the reversed line). The corrective events it names are
ordinary events and go in as such.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from django.conf import settings
from django.db import transaction

from controltower.db import chunks

from ...ledger import EventResult, IngestError, IngestReport, ingest_events, reversal_of, reverse_transfer_line
from ...models import InventoryEvent
from ...sources import control_tower_source
from ..registry import Adapter, Ignored, Unparseable
from . import checks, mapping, xml
from .checks import EVENT_TYPES

ROLLBACK, PROCEED = "rollback", "proceed"
BEHAVIOURS = (ROLLBACK, PROCEED)


class Refused(IngestError):
    """The document has invalid events and the behaviour is rollback: nothing is stored.
    `invalid` lists them: [{"event": n (1-based), "eventID": ..., "field": ..., "message": ...}]."""

    def __init__(self, message, invalid):
        super().__init__(message)
        self.invalid = invalid
        self.answer = {"detail": message, "invalid": invalid}  # the API's 400 body


@dataclass
class Capture:
    """A parsed document: its events (the JSON-LD shape, None where XML
    could not be read as one) and the errors of each invalid one."""

    events: list
    prefixes: dict = field(default_factory=dict)
    errors: dict = field(default_factory=dict)  # index -> [(field, message)]
    unread_ids: dict = field(default_factory=dict)  # index -> the eventID of an XML event not read

    def event_id(self, index):
        event = self.events[index]
        return str(event.get("eventID") or "") if isinstance(event, dict) else self.unread_ids.get(index, "")


def _prefixes(context):
    """The JSON-LD prefixes a document declares in its @context (no remote context is read)."""
    found = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, dict):
            found.update({k: v for k, v in item.items() if isinstance(k, str) and isinstance(v, str)})
    return found


class EpcisAdapter(Adapter):
    key_rule = ("The event's eventID, else its CBV 2.0 event hash, with the line's GTIN-14 (and uom): "
                "'<event id>|<GTIN-14>[|<uom>]'.")
    ignored_reasons = mapping.IGNORED_REASONS

    def check(self, capture):
        """Add the semantic errors of each event, before its schema errors (they say more)."""
        for index, event in enumerate(capture.events):
            if event is None:  # XML that is no event of the XSD: its one error says why
                continue
            errors = checks.semantic_errors(event) + capture.errors.get(index, [])
            if errors:
                capture.errors[index] = list(dict.fromkeys(errors))
        return capture

    def events(self, document):
        """The items of the document's valid events: raw events, Ignored, and a
        Declaration for each error declaration (reversed when posted)."""
        return [item for index, event in enumerate(document.events) if index not in document.errors
                for item in mapping.items(event, document.prefixes)]

    def post(self, source, capture, received_at=None, behaviour=ROLLBACK) -> IngestReport:
        planned = []  # per EPCIS event: its items (a list), or its errors ({field: [message]})
        for index, event in enumerate(capture.events):
            errors = capture.errors.get(index)
            if not errors:
                try:
                    planned.append(mapping.items(event, capture.prefixes))
                    continue
                except mapping.EventInvalid as exc:
                    errors = capture.errors[index] = exc.errors
            planned.append(_as_errors(errors))
        if capture.errors and behaviour == ROLLBACK:
            raise _refusal(capture)
        raw = [item for items in planned if isinstance(items, list) for item in items if isinstance(item, dict)]
        posted = []
        with transaction.atomic():  # a document is taken whole, in batches of what the ledger takes at once
            for batch in chunks(raw, settings.INGEST_MAX_EVENTS):
                posted += ingest_events(source, batch, received_at=received_at).results
            declared = {item.key: self._reverse(source, item, received_at) for items in planned
                        if isinstance(items, list) for item in items if isinstance(item, mapping.Declaration)}
        return IngestReport(self._answers(capture, planned, posted, declared), counts_ignored=True)

    def _reverse(self, source, declaration, received_at):
        """The results of reversing the ledger lines of the declared event (none found: ignored)."""
        lines = list(InventoryEvent.objects.filter(source=source, transaction_id__in=declaration.lines)
                     .select_related("location", "sku", "to_location").order_by("id"))
        if not lines:
            return [EventResult(declaration.key, "ignored", reason=mapping.UNKNOWN_DECLARED,
                                detail="no ledger line of this event from this source")]
        note = f"EPCIS error declaration: {declaration.reason}"[:64]
        report = ingest_events(control_tower_source(), [reversal_of(line, note) for line in lines],
                               received_at=received_at, keep_rejections=False, reversals=True)
        for line, result in zip(lines, report.results):
            if result.status == "accepted":
                reverse_transfer_line(line)
        return report.results

    def _answers(self, capture, planned, results_posted, declared):
        posted = iter(results_posted)
        results = []
        for index, items in enumerate(planned):
            if not isinstance(items, list):
                results.append(EventResult(capture.event_id(index) or f"event {index + 1}", "rejected", items))
                continue
            for item in items:
                if isinstance(item, dict):
                    results.append(next(posted))
                elif isinstance(item, Ignored):
                    results.append(EventResult(item.key, "ignored", reason=item.reason, detail=item.detail))
                else:
                    results += declared[item.key]
        return results


def _as_errors(errors):
    found = {}
    for name, message in errors:
        found.setdefault(name, []).append(message)
    return found


def _refusal(capture):
    invalid = []
    for index in sorted(capture.errors):
        for name, message in capture.errors[index]:
            invalid.append({"event": index + 1, "eventID": capture.event_id(index), "field": name,
                            "message": message})
    first = invalid[0]
    message = first["message"] if first["message"].endswith(".") else first["message"] + "."
    named = f"Event {first['event']} of {len(capture.events)}" + (
        f" ({first['eventID']})" if first["eventID"] else "")
    more = len(capture.errors) - 1
    return Refused(
        f"{named}: {first['field']}: {message}"
        + (f" ({more} more invalid event{'s' if more > 1 else ''})" if more else "")
        + " Nothing of the document was stored (GS1-Capture-Error-Behaviour: rollback).",
        invalid,
    )


class EpcisJson(EpcisAdapter):
    name = "epcis"
    content_types = ("application/ld+json", "application/json")

    def parse(self, body):
        try:
            document = orjson.loads(body) if body else None
        except orjson.JSONDecodeError as exc:
            raise Unparseable(f"The body is not valid JSON: {exc}")
        if not isinstance(document, dict):
            raise Unparseable("The body must be a JSON object: an EPCISDocument or one EPCIS event.")
        if document.get("type") in EVENT_TYPES:
            document = checks.bare_words(document)
            events = [document]
        elif document.get("type") != "EPCISDocument":
            raise Unparseable(f"type: {repr(document.get('type'))[:60]} is neither an EPCISDocument nor an "
                              "EPCIS event.")
        else:
            body = document.get("epcisBody")
            events = body.get("eventList") if isinstance(body, dict) else None
            if not isinstance(events, list):
                raise Unparseable("epcisBody.eventList: an EPCISDocument carries its events in epcisBody.eventList.")
            events = [checks.bare_words(event) for event in events]
            document = dict(document, epcisBody=dict(body, eventList=events))
        event_errors, whole = checks.schema_errors(document)
        if whole:
            raise Unparseable(f"The EPCISDocument is not valid: {whole[0][0]}: {whole[0][1]}")
        capture = Capture(events, _prefixes(document.get("@context")),
                          {index: errors for index, errors in event_errors.items() if index < len(events)})
        return self.check(capture)


class EpcisXml(EpcisAdapter):
    name = "epcis-xml"
    content_types = ("application/xml", "text/xml")

    def parse(self, body):
        elements = xml.document(xml.parse(body))
        capture = Capture([])
        for index, element in enumerate(elements):
            try:
                capture.events.append(xml.event(element))
            except xml.XmlEventError as exc:
                capture.events.append(None)
                capture.errors[index] = [(exc.field, str(exc))]
                capture.unread_ids[index] = (element.findtext("eventID") or "").strip()
        return self.check(capture)
