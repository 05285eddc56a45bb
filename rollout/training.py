"""Training records (from the LMS, over POST /api/v1/training or
`import_training FILE`) and their page of records; the two training
metrics read them (rollout.metrics).

A record is one person's completed module: person_id, person_name
(optional), location (code), module (code), completed_at (ISO 8601 with an
offset), proficiency (0-100). One record per person and module: sending it
again updates it (a retake), sending the same values again changes nothing.
Each refused row is listed with its number and {field: [messages]}; the rest
load. Rows are numbered from 1.
"""
import django_filters
from django.utils import timezone

from controltower import records as record_lists
from controltower.filters import CodesFilter
from controltower.imports import ImportReport, RefusedRow
from controltower.records import Column
from controltower.scoping import visible_locations
from inventory import fields
from inventory.models import Location

from .models import TrainingModule, TrainingRecord

TRAINING_COLUMNS = ("person_id", "location", "module", "completed_at", "proficiency")
TRAINING_OPTIONAL_COLUMNS = ("person_name",)
FIELDS = ("person_name", "location_id", "completed_at", "proficiency")


def record_training(rows, *, user=None, now=None) -> ImportReport:
    """Upsert training records from rows (dicts). `user`, when given, may only
    record training at the locations they see. `now` (default: the clock):
    a completion after it is refused."""
    rows = list(rows)
    report = ImportReport(label="training record")
    now = now or timezone.now()
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


class TrainingRecordFilter(django_filters.FilterSet):
    locations = CodesFilter(field_name="location__code", help_text="Location codes, comma-separated")
    module = django_filters.CharFilter(field_name="module__code", help_text="Module code")
    person = django_filters.CharFilter(field_name="person_id", help_text="The person's id in the training system")

    class Meta:
        model = TrainingRecord
        fields = ["locations", "module", "person"]


def register_records():
    """The training records behind training completion and proficiency, as a page (controltower.records)."""
    record_lists.register(
        "training", "Training records",
        description="Each module a person completed, with the proficiency they reached: what training "
                    "completion and proficiency are measured from.",
        rows=lambda user: TrainingRecord.objects.restrict(user).select_related("location", "module").order_by(
            "location__code", "person_id", "module__code"),
        filterset=TrainingRecordFilter,
        columns=[
            Column("Location", lambda r: r.location.code),
            Column("Person", lambda r: r.person_id),
            Column("Name", lambda r: r.person_name),
            Column("Module", lambda r: f"{r.module.code}: {r.module.name}"),
            Column("Required", lambda r: "yes" if r.module.required else "no"),
            Column("Completed", lambda r: r.completed_at, "time"),
            Column("Proficiency", lambda r: r.proficiency, "number"),
        ],
    )
