"""A source's own identifiers of the tower's locations and SKUs, loaded from
rows `kind,external_id,code` (the CSV of `manage.py import_external_ids`,
or the API's list): one table per source, read by inventory.identifiers.

A load is all or nothing: every row is checked first (the kind, the id, the
tower's code), and a file with a refused row loads none of its rows, so a
source's mapping is never half loaded. A row is an upsert by (kind,
external_id): loading a file again changes nothing; pointing an id at
another code moves it. Replaying the source's kept rejections afterwards
lets in what the new mapping resolves (manage.py replay_rejections)."""
from __future__ import annotations

import copy

from django.db import transaction
from django.utils import timezone

from controltower.audit import Load
from controltower.db import chunks
from controltower.imports import ImportRefused, ImportReport, RefusedRow
from controltower.locks import hold_until_commit

from . import fields
from .models import SKU, ExternalId, Location

COLUMNS = ("kind", "external_id", "code")
MAX_ROWS = 100_000
QUERY_CHUNK = 5000  # codes per IN (...): well under SQLite's limit on bound parameters
KINDS = tuple(ExternalId.Kind.values)


def _row(row, errors):
    """(kind, external_id, code) of one row, each '' when refused."""
    kind = fields.text(row, "kind", errors, required=True, max_length=8).lower()
    if kind and kind not in KINDS:
        errors.setdefault("kind", []).append(f"{fields.shown(kind)} is not one of {', '.join(KINDS)}.")
        kind = ""
    external_id = fields.text(row, "external_id", errors, required=True, max_length=64)
    code = fields.text(row, "code", errors, required=True, max_length=64)
    return kind, external_id, code


def import_external_ids(source, rows) -> ImportReport:
    """Load `source`'s foreign identifiers from `rows` (dicts of COLUMNS).
    Returns the ImportReport; when any row is refused, nothing is written."""
    if not isinstance(rows, list):
        raise ImportRefused("'external_ids' must be a list of rows.")
    if len(rows) > MAX_ROWS:
        raise ImportRefused(f"At most {MAX_ROWS} rows at once; got {len(rows)}.")
    report = ImportReport(label="external id")
    parsed = []
    for number, row in enumerate(rows, start=1):
        errors = {}
        if not isinstance(row, dict):
            report.refused.append(RefusedRow(number, "", {"row": ["Must be an object of column: value."]}))
            continue
        parsed.append((number, *_row(row, errors), errors))
    codes = {kind: {code for _, k, _, code, _ in parsed if k == kind and code} for kind in KINDS}
    locations, skus = {}, {}
    for found, model, kind in ((locations, Location, "location"), (skus, SKU, "sku")):
        for chunk in chunks(sorted(codes[kind]), QUERY_CHUNK):
            found.update(model.objects.filter(code__in=chunk).values_list("code", "id"))
    wanted, seen = {}, {}
    for number, kind, external_id, code, errors in parsed:
        target = (locations if kind == "location" else skus).get(code) if kind and code else None
        if kind and code and target is None:
            noun = "location" if kind == "location" else "SKU"
            errors.setdefault("code", []).append(f"No {noun} {fields.shown(code)} in the tower.")
        if kind and external_id and (kind, external_id) in seen and not errors:
            first, first_code = seen[(kind, external_id)]
            if first_code != code:
                errors.setdefault("external_id", []).append(
                    f"Row {first} already maps {kind} {fields.shown(external_id)} to {first_code}.")
        if errors:
            report.refused.append(RefusedRow(number, external_id, errors))
            continue
        seen.setdefault((kind, external_id), (number, code))
        wanted[(kind, external_id)] = target
    if report.refused:
        report.refused.sort(key=lambda refused: refused.row)
        return report

    with transaction.atomic():
        hold_until_commit(f"external-ids:{source.pk}")
        stored = {}
        for chunk in chunks(sorted({key[1] for key in wanted}), QUERY_CHUNK):
            stored.update(((e.kind, e.external_id), e)
                          for e in ExternalId.objects.filter(source=source, external_id__in=chunk))
        now = timezone.now()
        to_create, to_update, trail = [], [], Load()
        for (kind, external_id), target in wanted.items():
            column = "location_id" if kind == "location" else "sku_id"
            mapping = stored.get((kind, external_id))
            if mapping is None:
                to_create.append(ExternalId(source=source, kind=kind, external_id=external_id,
                                            updated_at=now, **{column: target}))
            elif getattr(mapping, column) != target:
                before = copy.copy(mapping)
                setattr(mapping, column, target)
                mapping.updated_at = now
                to_update.append(mapping)
                trail.changed(before, mapping)
            else:
                report.unchanged += 1
        ExternalId.objects.bulk_create(to_create, batch_size=1000)
        ExternalId.objects.bulk_update(to_update, ["location", "sku", "updated_at"], batch_size=1000)
        for mapping in to_create:
            trail.created(mapping)
        trail.write()
    report.created, report.updated = len(to_create), len(to_update)
    return report
