"""The rollout metrics of the registry (controltower.metrics): training
completion and proficiency, read from the training records
(rollout.training), each registered with its definition by
`register_metrics()` below (called from RolloutConfig.ready()).

They are measured as of the window's end (`until`): training is a state, so
a module completed before the window started still counts.
"""
from decimal import Decimal

from controltower import records as record_lists
from controltower.metrics import HIGHER, Reading, Unit, register, share
from inventory.metrics import by_location, codes_of, union_of
from inventory.models import Location

from .models import TrainingModule, TrainingRecord


def _records_urls(scopes):
    """A function giving each of `scopes` the page of its training records."""
    location_codes = codes_of(Location, scopes, "locations")
    return lambda scope: record_lists.url("training", locations=location_codes(scope))


def _records_by_location(scopes, window):
    """{location id: [(person, module, required, proficiency)]} of the
    records completed by the end of the window at the locations of any of
    `scopes` (every location when one is the whole estate): read once for
    all the scopes (the KPI rollups measure every member of a dimension)."""
    records = TrainingRecord.objects.filter(completed_at__lte=window.until)
    location_ids = union_of(scopes, "locations")
    if location_ids is not None:
        records = records.filter(location_id__in=location_ids)
    found = {}
    for location_id, *record in records.values_list("location_id", "person_id", "module_id", "module__required",
                                                    "proficiency"):
        found.setdefault(location_id, []).append(record)
    return found


def training_completion(scopes, window):
    """People with every required module done, over the people with a record
    at a location in scope; None with nobody in scope or no required module.
    A person's modules count wherever they were done."""
    found = _records_by_location(scopes, window)
    required = TrainingModule.objects.filter(required=True).count()
    people_of = [{person for person, *_ in by_location(found, scope)} for scope in scopes]
    everyone = set().union(*people_of)
    done = {}
    if everyone and required:
        for person, module in TrainingRecord.objects.filter(
            module__required=True, completed_at__lte=window.until,
        ).values_list("person_id", "module_id"):
            if person in everyone:
                done.setdefault(person, set()).add(module)
    readings, _records_url = [], _records_urls(scopes)
    for scope, people in zip(scopes, people_of, strict=True):
        detail = {"people": len(people), "required_modules": required}
        if not people or not required:
            readings.append(Reading(None, len(people), _records_url(scope), detail))
            continue
        complete = sum(1 for person in people if len(done.get(person, ())) == required)
        readings.append(Reading(share(complete, len(people)), len(people), _records_url(scope),
                                {"complete": complete, **detail}))
    return readings


def training_proficiency(scopes, window):
    """The average proficiency (0-100) of the records in scope; None without records."""
    found = _records_by_location(scopes, window)
    readings, _records_url = [], _records_urls(scopes)
    for scope in scopes:
        scores = [proficiency for *_, proficiency in by_location(found, scope)]
        value = Decimal(sum(scores)) / len(scores) if scores else None
        readings.append(Reading(value, len(scores), _records_url(scope), {"records": len(scores)}))
    return readings


def register_metrics():
    """The rollout metrics: each defined once, in the words every screen shows."""
    register(
        "training_completion", "Training completion",
        definition="Share of the people trained at these locations who have completed every required module.",
        unit=Unit.PERCENT, better=HIGHER, compute_many=training_completion,
        target="95", amber="80", scopes=("locations",),
    )
    register(
        "training_proficiency", "Training proficiency",
        definition="Average proficiency score (0-100) of the completed training modules at these locations.",
        unit=Unit.SCORE, better=HIGHER, compute_many=training_proficiency,
        target="80", amber="70", scopes=("locations",),
    )
