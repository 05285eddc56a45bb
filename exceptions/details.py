"""A case's details (the numbers its job recorded, Case.details) as a person
reads them: labels in words, codes as their names, times in the case's
location's time zone to the minute ("06 Dec 2026 14:05 CET"), never ISO
strings or internal keys."""
import re
from datetime import date

from django.utils.dateparse import parse_datetime

from controltower.when import day, when
from inventory.models import JourneyKind

ACRONYMS = {"pos": "POS", "erp": "ERP", "sku": "SKU", "atp": "ATP", "po": "PO", "wms": "WMS", "sla": "SLA",
            "id": "ID"}
# Keys whose words alone would mislead: a journey's own due time is its step's SLA, not the case's.
LABELS = {
    "journey": "Journey", "journey_id": "Journey number", "state": "Stuck at", "sla_hours": "SLA (hours)",
    "due_at": "Step SLA ran out", "step_times": "Steps taken",
}
SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
# Codes a job records, by their names.
NAMES = dict(JourneyKind.choices)


def words(key):
    """ "pos_quantity" reads "POS quantity"."""
    parts = [ACRONYMS.get(part, part) for part in str(key).split("_")]
    return " ".join([parts[0][:1].upper() + parts[0][1:], *parts[1:]])


def value_text(value, where=None):
    """One value in words: a time in `where`'s zone, a code by its name or in words, a tolerance
    "units 5, percent 0.5", a list its items one after the other ("A; B")."""
    if isinstance(value, dict):
        return ", ".join(f"{words(key).lower()} {value_text(item, where)}" for key, item in value.items())
    if isinstance(value, list):
        return "; ".join(value_text(item, where) for item in value)
    if isinstance(value, str):
        if len(value) >= 16 and value[:4].isdigit() and value[4] == "-" and (
                moment := parse_datetime(value)) is not None and moment.tzinfo is not None:
            return when(moment, where)
        if len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return day(date.fromisoformat(value))
            except ValueError:
                pass
        if value in NAMES:
            return NAMES[value]
        # A code in the text ("in_transit → available", "occurred_at: This field is required") in words.
        return SNAKE_CASE.sub(lambda match: match.group(0).replace("_", " "), value)
    return str(value)


def case_details(case):
    """[(label, text)] of the case's details; the drift class has its own section."""
    return [(LABELS.get(key, words(key)), value_text(value, case.location))
            for key, value in case.details.items() if key != "drift"]
