"""Loading waves and their stores (POST /api/v1/waves/load, `import_waves FILE`).

One row per wave: program (name; created when new, with the default
playbook's gates, rollout.playbook), name, kind (pilot or
regional), order, planned_cutover (YYYY-MM-DD, optional), locations (codes
separated by ";", optional: the wave's whole list, replacing the one stored).
Upsert by program and wave name. A row is refused, with {field: [messages]},
when a location is unknown or already in another wave of the program, or
when the planned cutover falls in a blackout window; the rest still load.
Rows are numbered from 1, the first row under the header.
"""
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from controltower.audit import Load
from controltower.imports import ImportReport, RefusedRow
from inventory import fields
from inventory.masterdata import DATE_TEXT
from inventory.models import Location

from .gates import ensure_gates
from .playbook import apply_playbook
from .models import Program, Wave, WaveLocation

WAVE_COLUMNS = ("program", "name", "kind", "order")
WAVE_OPTIONAL_COLUMNS = ("planned_cutover", "locations")


class _Refused(Exception):
    def __init__(self, errors):
        self.errors = errors


def _parse(row, errors):
    values = {
        "program": fields.text(row, "program", errors, required=True, max_length=200),
        "name": fields.text(row, "name", errors, required=True, max_length=200),
        "kind": fields.text(row, "kind", errors, required=True).lower(),
        "order": fields.whole(row, "order", errors, minimum=1, maximum=32767),
    }
    if values["kind"] and values["kind"] not in Wave.Kind.values:
        errors.setdefault("kind", []).append(f"{fields.shown(values['kind'])} is not one of pilot, regional.")
    if "planned_cutover" in row:
        text = fields.text(row, "planned_cutover", errors)
        values["planned_cutover"] = None
        if text:
            try:
                if not DATE_TEXT.fullmatch(text):
                    raise ValueError(text)
                values["planned_cutover"] = datetime.strptime(text, "%Y-%m-%d").date()
            except ValueError:
                errors.setdefault("planned_cutover", []).append(f"{fields.shown(text)} is not a date as YYYY-MM-DD.")
    if "locations" in row:
        text = fields.text(row, "locations", errors, max_length=100_000)
        values["locations"] = [code.strip() for code in text.split(";") if code.strip()]
    return values


def _load(values):
    """Write one valid row; raises _Refused (rolled back) on a conflict."""
    program, new = Program.objects.get_or_create(name=values["program"])
    if new:
        apply_playbook(program)
    wave = Wave.objects.filter(program=program, name=values["name"]).first()
    created = wave is None
    wave = wave or Wave(program=program, name=values["name"])
    before = (wave.kind, wave.order, wave.planned_cutover)
    wave.kind, wave.order = values["kind"], values["order"]
    if "planned_cutover" in values:
        wave.planned_cutover = values["planned_cutover"]
    changed = created or before != (wave.kind, wave.order, wave.planned_cutover)
    try:
        with transaction.atomic():
            wave.save()
    except IntegrityError:
        raise _Refused({"order": [f"Another wave of {program} has order {wave.order}."]}) from None
    if "locations" in values:
        codes = values["locations"]
        found = dict(Location.objects.filter(code__in=codes).values_list("code", "id"))
        unknown = [code for code in codes if code not in found]
        if unknown:
            raise _Refused({"locations": [f"Unknown location(s): {', '.join(unknown)}."]})
        taken = (WaveLocation.objects.filter(program=program, location_id__in=found.values())
                 .exclude(wave=wave).select_related("wave", "location"))
        if taken:
            raise _Refused({"locations": [f"{m.location.code} is already in wave {m.wave.name}." for m in taken]})
        have = set(wave.members.values_list("location_id", flat=True))
        if have != set(found.values()):
            wave.members.exclude(location_id__in=found.values()).delete()  # each delete in the audit trail
            joined = WaveLocation.objects.bulk_create(
                [WaveLocation(program=program, wave=wave, location_id=pk) for pk in set(found.values()) - have]
            )
            trail = Load()
            for member in joined:
                trail.created(member)
            trail.write()
            changed = True
    if wave.planned_cutover:
        try:
            wave.refuse_blackout(wave.planned_cutover)
        except ValidationError as exc:
            raise _Refused(exc.message_dict) from None
    ensure_gates(wave)
    return "created" if created else "updated" if changed else "unchanged"


def import_waves(rows) -> ImportReport:
    """Upsert waves and their locations from rows (dicts)."""
    report = ImportReport(label="wave")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of column: value."]}))
            continue
        errors = {}
        values = _parse(row, errors)
        label = f"{values['program']}/{values['name']}"
        if errors:
            report.refused.append(RefusedRow(number, label, errors))
            continue
        try:
            with transaction.atomic():
                outcome = _load(values)
        except _Refused as refused:
            report.refused.append(RefusedRow(number, label, refused.errors))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
    return report
