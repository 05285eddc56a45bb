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
    """[(label, text)] of the case's details; the drift class and an anomaly's explanation have their own sections."""
    return [(LABELS.get(key, words(key)), value_text(value, case.location))
            for key, value in case.details.items() if key not in ("drift", "anomaly")]


# The anomaly chart's drawing area (SVG units; it scales to the card's width).
CHART_WIDTH, CHART_HEIGHT = 320, 96


def anomaly(case):
    """An anomaly case's explanation for its page (exceptions.reconciliation.common.anomaly),
    with its series drawn as bars: {"facts": [(label, text)], "chart": {...}}; None for other cases."""
    why = (case.details or {}).get("anomaly")
    if not why:
        return None
    facts = [(label, why[key]) for key, label in (
        ("baseline", "Usually"), ("observed", "Seen"), ("score", "How unusual"), ("threshold", "When it is flagged"),
        ("window", "Looked at"),
    ) if why.get(key)]
    return {"facts": facts, "chart": anomaly_chart(why.get("series"))}


def anomaly_chart(series):
    """Bars of the series' values (None: no data, no bar), the marked ones
    (the anomaly) on a shaded band, and dashed lines at the baseline and the
    limit; with the same in words for a screen reader."""
    values = (series or {}).get("values") or []
    if not values:
        return None
    known = [v for v in values if v is not None]
    top = max([*known, series.get("baseline") or 0, series.get("limit") or 0, 1e-9]) * 1.1
    step = CHART_WIDTH / len(values)
    marked = set(series.get("marked") or [])

    def y(value):
        return round(CHART_HEIGHT - value / top * CHART_HEIGHT, 1)

    bars = [{"x": round(i * step + step * 0.15, 1), "width": round(step * 0.7, 1), "y": y(v),
             "height": round(CHART_HEIGHT - y(v), 1), "marked": i in marked}
            for i, v in enumerate(values) if v is not None]
    band = None
    if marked:
        band = {"x": round(min(marked) * step, 1), "width": round((max(marked) - min(marked) + 1) * step, 1)}
    lines = [{"y": y(series[key]), "kind": key} for key in ("baseline", "limit") if series.get(key) is not None]
    seen = [values[i] for i in sorted(marked) if values[i] is not None]
    described = (f"{series['title']}, {len(values)} bars from {series['first']} to {series['last']}"
                 + (f"; usually {series['baseline']:g}" if series.get("baseline") is not None else "")
                 + (f"; limit {series['limit']:g}" if series.get("limit") is not None else "")
                 + (f"; the marked bars: {', '.join(f'{v:g}' for v in seen)}" if seen else "") + ".")
    return {"bars": bars, "band": band, "lines": lines, "width": CHART_WIDTH, "height": CHART_HEIGHT,
            "title": series["title"], "first": series["first"], "last": series["last"],
            "has_limit": series.get("limit") is not None, "has_baseline": series.get("baseline") is not None,
            "words": described}
