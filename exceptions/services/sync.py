"""Findings -> cases: how reconciliation jobs raise, refresh and clear cases.

`sync_findings` makes the cases of one kind match what a job found: a new
finding opens a case (routed, its SLA clock started), a known one refreshes
its figures and reopens it when resolved (unless a person settled it: the
kind's detector says how, exceptions.detectors), and an open case whose
finding is gone resolves itself. The writes are in bulk: one job may touch
50,000 cases.
"""
import json
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from controltower.locks import hold_until_commit, lock_rows
from inventory.models import Location
from inventory.trading import Calendar

from ..detectors import DETECTORS
from ..findings import Finding
from ..models import Case, CaseHistory, CaseLink, CorrectiveAdjustment
from . import alerts
from .routing import Router, sla_start

S = Case.Status
# A re-run may change any of these (the drift class too: late events arrive, a duplicate is found).
TRACKED = ("severity", "quantity_at_risk", "value_at_risk", "customer_impact", "summary", "drift")


def _settled(kind, row, finding):
    """A resolved case that the finding coming back must leave resolved: the
    kind's detector says how a person settles it (exceptions.detectors)."""
    if row["auto_resolved"]:
        return False
    detector = DETECTORS[kind]
    if detector.settled_by_a_person:
        return True
    key = detector.evidence
    return bool(key) and (row["details"] or {}).get(key) == finding.details.get(key)


@dataclass
class SyncReport:
    opened: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    reopened: list = field(default_factory=list)
    resolved: list = field(default_factory=list)

    def as_dict(self):
        return {name: len(getattr(self, name)) for name in ("opened", "updated", "reopened", "resolved")}


def sync_findings(kind: str, findings: list[Finding], *, scope: dict | None = None, now=None) -> SyncReport:
    """Make the cases of `kind` match `findings`.

    A new fingerprint opens a case; a known one refreshes its case (and
    reopens it when resolved); an open case whose fingerprint is not in
    `findings` is resolved with the note "condition cleared". `scope`
    (e.g. {"location_id__in": [...]}) limits which open cases may be cleared,
    for a job that looked at part of the estate. Two syncs of the same kind
    run one after the other (a per-kind lock on PostgreSQL; SQLite takes the
    write lock at the start of the transaction).
    """
    wrong = [f.fingerprint for f in findings if f.kind != kind]
    if wrong:
        raise ValueError(f"Findings of another kind than {kind}: {wrong[:3]}")
    wanted = {f.fingerprint: f for f in findings}
    now = now or timezone.now()
    report = SyncReport()
    with transaction.atomic():
        hold_until_commit(f"cases:{kind}")
        known = {
            row["fingerprint"]: row
            for row in Case.objects.filter(kind=kind).values(
                "id", "fingerprint", "status", "auto_resolved", *TRACKED, "details"
            )
        }
        _open_new(kind, [f for fp, f in wanted.items() if fp not in known], now, report)
        _refresh(kind, [(known[fp], f) for fp, f in wanted.items() if fp in known], now, report)
        stale = [row["id"] for fp, row in known.items() if fp not in wanted and row["status"] in Case.ACTIVE]
        if stale and scope:
            stale = list(Case.objects.filter(id__in=stale, **scope).values_list("id", flat=True))
        _clear(stale, now, report)
    return report


def _open_new(kind, findings, now, report):
    if not findings:
        return
    router, calendar = Router(), Calendar()
    locations = Location.objects.in_bulk({f.location_id for f in findings if f.location_id})
    cases = []
    for f in sorted(findings, key=lambda f: f.fingerprint):
        location = locations.get(f.location_id)
        case = Case(
            kind=kind, severity=f.severity, status=S.OPEN, location=location, sku_id=f.sku_id,
            source_id=f.source_id, reference=f.reference, fingerprint=f.fingerprint,
            quantity_at_risk=f.quantity_at_risk, value_at_risk=f.value_at_risk,
            customer_impact=f.customer_impact, summary=f.summary, details=f.details, drift=f.drift,
            opened_at=now,
            owner=router.team(kind, f.severity, location.region_id if location else None),
            **sla_start(location, router.policy(kind, f.severity), calendar, now),
        )
        cases.append(case)
    Case.objects.bulk_create(cases, batch_size=1000)
    if connection.vendor != "postgresql":  # only PostgreSQL returns the new ids from a bulk insert
        ids = dict(Case.objects.filter(fingerprint__in=[c.fingerprint for c in cases]).values_list("fingerprint", "id"))
        for case in cases:
            case.pk = case.id = ids[case.fingerprint]
    CaseHistory.objects.bulk_create(
        [CaseHistory(case=c, at=now, action="opened", field="status", to_value=S.OPEN, note=c.summary)
         for c in cases],
        batch_size=1000,
    )
    _add_links([(c.pk, f) for c, f in zip(cases, sorted(findings, key=lambda f: f.fingerprint))])
    report.opened = [c.pk for c in cases]
    alerts.cases_opened(cases, now)


def _refresh(kind, pairs, now, report):
    """Update the numbers of known cases; reopen the ones that were resolved."""
    changed, history, reopen = [], [], []
    for row, f in pairs:
        fresh = {name: getattr(f, name) for name in TRACKED}
        diffs = [name for name in TRACKED if _differs(row[name], fresh[name])]
        if diffs or row["details"] != f.details:
            changed.append(Case(id=row["id"], details=f.details, **fresh))
            history += [
                CaseHistory(case_id=row["id"], at=now, action="updated", field=name,
                            from_value=str(row[name])[:300], to_value=str(fresh[name])[:300])
                for name in diffs
            ]
        if row["status"] in Case.DONE and not _settled(kind, row, f):
            reopen.append(row["id"])
    _update_numbers(changed)
    CaseHistory.objects.bulk_create(history, batch_size=1000)
    _add_links([(row["id"], f) for row, f in pairs])
    report.updated = [c.pk for c in changed]
    if reopen:
        report.reopened = _reopen_by_system(reopen, now)


def _update_numbers(cases):
    """One parameterised UPDATE run for many rows (bulk_update's CASE WHEN is slow at 50k)."""
    if not cases:
        return
    columns = [*TRACKED, "details"]
    sets = ", ".join(f"{name} = %s" for name in columns)
    rows = [(*(getattr(c, name) for name in TRACKED), json.dumps(c.details, cls=DjangoJSONEncoder), c.pk)
            for c in sorted(cases, key=lambda c: c.pk)]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {Case._meta.db_table} SET {sets} WHERE id = %s", rows)


def _differs(old, new):
    if isinstance(new, Decimal) or isinstance(old, Decimal):
        return Decimal(str(old)) != Decimal(str(new))
    return old != new


def _reopen_by_system(ids, now):
    router, calendar = Router(), Calendar()
    cases = list(lock_rows(
        Case.objects.filter(id__in=ids, status__in=Case.DONE).select_related("location"), of=("self",)
    ))
    history = []
    for case in cases:
        history.append(CaseHistory(case=case, at=now, action="reopened", field="status",
                                   from_value=case.status, to_value=S.OPEN, note="condition is back"))
        case.status = S.OPEN
        case.reopen_count += 1
        case.acknowledged_at = case.resolved_at = case.resolved_by = None
        case.auto_resolved = False
        for name, value in sla_start(case.location, router.policy(case.kind, case.severity), calendar, now).items():
            setattr(case, name, value)
    Case.objects.bulk_update(
        cases,
        ["status", "reopen_count", "acknowledged_at", "resolved_at", "resolved_by", "auto_resolved",
         "sla_policy", "response_due_at", "resolution_due_at", "warning_due_at", "warned_at", "breached_at",
         "escalation_due_at"],
    )
    CaseHistory.objects.bulk_create(history)
    return [c.pk for c in cases]


def _clear(ids, now, report):
    """Resolve open cases whose condition is gone. A case waiting for finance
    on an adjustment stays as it is: finance's decision moves it on (and a
    later sync clears it if it went back in progress)."""
    ids = list(lock_rows(
        Case.objects.filter(id__in=ids, status__in=Case.ACTIVE)
        .exclude(adjustments__status=CorrectiveAdjustment.Status.PENDING_APPROVAL)
    ).values_list("id", "status"))
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        Case.objects.filter(id__in=[pk for pk, _ in chunk]).update(
            status=S.RESOLVED, resolved_at=now, auto_resolved=True, resolution_code="condition_cleared",
            paused_since=None,
        )
    CaseHistory.objects.bulk_create(
        [CaseHistory(case_id=pk, at=now, action="resolved", field="status", from_value=old,
                     to_value=S.RESOLVED, note="condition cleared") for pk, old in ids],
        batch_size=1000,
    )
    report.resolved = [pk for pk, _ in ids]


def _add_links(pairs):
    links = [
        CaseLink(case_id=case_id, kind=kind, object_id=object_id)
        for case_id, f in pairs for kind, object_id in f.lineage
    ]
    CaseLink.objects.bulk_create(links, ignore_conflicts=True, batch_size=1000)
