"""Training records (from the LMS, over POST /api/v1/training or
`import_training FILE`) and the two training metrics.

A record is one person's completed module: person_id, person_name
(optional), location (code), module (code), completed_at (ISO 8601 with an
offset), proficiency (0-100). One record per person and module: sending it
again updates it (a retake), sending the same values again changes nothing.
Each refused row is listed with its number and {field: [messages]}; the rest
load. Rows are numbered from 1.

The metrics are measured as of the window's end (`until`): training is a
state, so a module completed before the window started still counts.
"""
from decimal import Decimal

from django.db.models import Avg, Count
from django.urls import reverse
from django.utils import timezone

from controltower.metrics import HIGHER, Reading, Unit, register, share
from controltower.scoping import visible_locations
from inventory import fields
from inventory.masterdata import ImportReport, RefusedRow
from inventory.models import Location

from .models import TrainingModule, TrainingRecord

TRAINING_COLUMNS = ("person_id", "location", "module", "completed_at", "proficiency")
TRAINING_OPTIONAL_COLUMNS = ("person_name",)
FIELDS = ("person_name", "location_id", "completed_at", "proficiency")


def record_training(rows, *, user=None) -> ImportReport:
    """Upsert training records from rows (dicts). `user`, when given, may only
    record training at the locations they see."""
    rows = list(rows)
    report = ImportReport(label="training record")
    now = timezone.now()
    modules = {m.code: m for m in TrainingModule.objects.all()}
    locations = visible_locations(user) if user is not None else Location.objects.all()
    codes = {fields.code(row.get("location")) for row in rows if isinstance(row, dict)}
    locations = dict(locations.filter(code__in=codes - {None}).values_list("code", "id"))
    seen = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of field: value."]}))
            continue
        errors = {}
        person = fields.text(row, "person_id", errors, required=True, max_length=64)
        values = {
            "person_name": fields.text(row, "person_name", errors, max_length=200),
            "completed_at": fields.time(row, "completed_at", errors, now),
            "proficiency": fields.whole(row, "proficiency", errors, minimum=0, maximum=100),
        }
        location_code = fields.text(row, "location", errors, required=True, max_length=32)
        if location_code:
            values["location_id"] = locations.get(location_code)
            if values["location_id"] is None:
                errors.setdefault("location", []).append(f"No location {fields.shown(location_code)} in your scope.")
        module_code = fields.text(row, "module", errors, required=True, max_length=64)
        module = modules.get(module_code)
        if module_code and module is None:
            errors.setdefault("module", []).append(
                f"No training module {fields.shown(module_code)}; one of {', '.join(sorted(modules)) or 'none yet'}."
            )
        key = f"{person}/{module_code}"
        if person and module and key in seen:
            errors.setdefault("module", []).append(f"Repeats row {seen[key]} for the same person and module.")
        if errors:
            report.refused.append(RefusedRow(number, key, errors))
            continue
        seen[key] = number
        record, created = TrainingRecord.objects.get_or_create(person_id=person, module=module, defaults=values)
        if created:
            report.created += 1
        elif all(getattr(record, name) == value for name, value in values.items()):
            report.unchanged += 1
        else:
            for name, value in values.items():
                setattr(record, name, value)
            record.save()
            report.updated += 1
    return report


# --------------------------------------------------------------------------
# Metrics (registered from RolloutConfig.ready())
# --------------------------------------------------------------------------

def _records(scope, window):
    records = TrainingRecord.objects.filter(completed_at__lte=window.until)
    if scope.locations is not None:
        records = records.filter(location_id__in=scope.locations)
    return records


def _records_url(scope):
    url = reverse("training")
    if scope.locations is not None:
        url += "?location_id=" + ",".join(str(pk) for pk in sorted(scope.locations))
    return url


def training_completion(scope, window):
    """People with every required module done, over the people with a record
    at a location in scope; None with nobody in scope or no required module."""
    people = _records(scope, window).values("person_id").distinct()
    in_scope = people.count()
    required = TrainingModule.objects.filter(required=True).count()
    if not in_scope or not required:
        return Reading(None, in_scope, _records_url(scope), {"people": in_scope, "required_modules": required})
    complete = (
        TrainingRecord.objects.filter(person_id__in=people, module__required=True, completed_at__lte=window.until)
        .values("person_id").annotate(done=Count("module", distinct=True)).filter(done=required).count()
    )
    return Reading(share(complete, in_scope), in_scope, _records_url(scope),
                   {"complete": complete, "people": in_scope, "required_modules": required})


def training_proficiency(scope, window):
    """The average proficiency (0-100) of the records in scope; None without records."""
    figures = _records(scope, window).aggregate(average=Avg("proficiency"), records=Count("id"))
    value = figures["average"]
    return Reading(None if value is None else Decimal(str(value)), figures["records"], _records_url(scope),
                   {"records": figures["records"]})


def register_metrics():
    register(
        "training_completion", "Training completion",
        definition="Share of the people trained at these locations who have completed every required module.",
        unit=Unit.PERCENT, better=HIGHER, compute=training_completion,
        target="95", amber="80", scopes=("locations",),
    )
    register(
        "training_proficiency", "Training proficiency",
        definition="Average proficiency score (0-100) of the completed training modules at these locations.",
        unit=Unit.SCORE, better=HIGHER, compute=training_proficiency,
        target="80", amber="70", scopes=("locations",),
    )
