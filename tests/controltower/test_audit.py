"""The audit trail: every privileged action with who, when, from where and
what changed, immutable, on the admin's screen (filters, CSV) and over
GET /api/v1/audit."""
import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from auditlog.models import LogEntry
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from controltower.audit import changes_text
from controltower.models import ApiToken, Role
from inventory.fixes import fix_sku
from rollout.models import Criterion, Gate, GateKind, Waiver
from tests.controltower.factories import make_user
from tests.inventory.factories import SKUFactory
from tests.rollout.factories import CriterionFactory, GateTemplateFactory, ProgramFactory, WaveFactory

pytestmark = pytest.mark.django_db


def entries_of(obj):
    return LogEntry.objects.get_for_object(obj).order_by("timestamp", "pk")


def token_client(api_client, user):
    _token, raw = ApiToken.issue(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}", REMOTE_ADDR="203.0.113.7")
    return api_client


@pytest.fixture
def gate(people):
    program = ProgramFactory(name="Rollout")
    template = GateTemplateFactory(program=program, kind=GateKind.DATA_READINESS)
    criterion = CriterionFactory(template=template, threshold=Decimal("95"))
    wave = WaveFactory(program=program, name="Own", stores=[people.store])
    from rollout.gates import ensure_gates

    ensure_gates(wave)
    return Gate.objects.get(wave=wave), criterion


def test_a_waiver_asked_and_approved_over_the_api_names_each_person_and_address(api_client, people, gate):
    gate, criterion = gate
    asker, approver = people[Role.PMO].owner, people[Role.PMO].colleague
    asked = token_client(api_client, asker).post("/api/v1/waivers", {
        "gate": gate.pk, "criterion": criterion.pk, "reason": "Barcode clean-up runs Friday",
        "expires_at": (timezone.now() + timedelta(days=5)).isoformat()}, format="json")
    assert asked.status_code == 201
    token_client(api_client, approver).post(f"/api/v1/waivers/{asked.json()['id']}/approve")

    created, approved = entries_of(Waiver.objects.get())
    assert (created.action, created.actor, created.remote_addr) == (LogEntry.Action.CREATE, asker, "203.0.113.7")
    assert created.changes["reason"] == ["None", "Barcode clean-up runs Friday"]
    assert (approved.action, approved.actor) == (LogEntry.Action.UPDATE, approver)
    assert approved.changes["approved_by"] == ["None", str(approver.pk)]


def test_a_threshold_edit_keeps_before_and_after(people, gate, client):
    _gate, criterion = gate
    Criterion.objects.filter(pk=criterion.pk).update()  # nothing through the ORM's save: nothing recorded
    criterion.threshold = Decimal("90")
    criterion.save()
    [*_, changed] = entries_of(criterion)
    assert [Decimal(value) for value in changed.changes["threshold"]] == [95, 90]
    assert changed.actor is None  # a command or a worker: no person, and the screen says so


def test_tokens_issued_and_revoked_and_roles_and_scopes_changed_are_recorded(people):
    admin = people[Role.ADMIN].owner
    token, _raw = ApiToken.issue(source=None, user=admin)
    token.revoked = True
    token.save()
    issued, revoked = entries_of(token)
    assert issued.action == LogEntry.Action.CREATE and revoked.changes == {"revoked": ["False", "True"]}
    assert "key_hash" not in str(issued.changes) and "last_used_at" not in str(issued.changes)
    assert issued.changes["prefix"] == ["None", token.prefix]
    # Used since: the last-use time is not an action.
    used = ApiToken.objects.get(pk=token.pk)
    used.last_used_at = timezone.now()
    used.save()
    assert entries_of(token).count() == 2

    manager = people[Role.STORE_MANAGER].owner
    profile = manager.profile
    profile.role = Role.REGIONAL_OPS
    profile.save()
    profile.locations.add(people.other_store)
    role_change, scope_change = list(entries_of(profile))[-2:]
    assert role_change.changes["role"] == [Role.STORE_MANAGER, Role.REGIONAL_OPS]
    assert changes_text(scope_change) == f"locations: added {people.other_store}"


def test_a_master_data_fix_on_the_integration_screen_is_in_the_trail(people):
    admin = people[Role.INTEGRATION_ADMIN].owner
    sku = SKUFactory(code="SKU-9", description="Old words")
    _report, change = fix_sku(admin, {"code": "SKU-9", "description": "New words", "category": sku.category,
                                      "unit_cost": str(sku.unit_cost), "base_unit": sku.base_unit})
    [entry] = entries_of(change)
    assert json.loads(entry.changes["changes"][1]) == {"description": ["Old words", "New words"]}
    assert entry.changes["username"] == ["None", admin.username] and entry.actor is None  # called from here


def test_an_entry_is_never_changed_or_deleted(people):
    profile = people[Role.FINANCE].owner.profile
    profile.role = Role.PLANNER
    profile.save()
    entry = entries_of(profile).last()
    entry.object_repr = "something else"
    with pytest.raises(PermissionDenied):
        entry.save()
    with pytest.raises(PermissionDenied), transaction.atomic():
        entry.delete()
    assert LogEntry.objects.get(pk=entry.pk).object_repr != "something else"


def test_the_admin_searches_the_trail_on_its_screen_and_exports_it(client, people, gate):
    _gate, criterion = gate
    pmo = people[Role.PMO].owner
    client.force_login(pmo)
    profile = pmo.profile
    profile.save()  # no change: no entry
    criterion.threshold = Decimal("80")
    criterion.save()
    admin = make_user(Role.ADMIN, username="ada")
    client.force_login(admin)
    page = client.get(reverse("audit"), {"kind": "criterion", "action": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Audit trail" in html and "threshold: 95.0000 -&gt; 80" in html
    assert "no person" in html
    export = client.get(reverse("records-csv", args=["audit"]), {"kind": "criterion"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["When", "Who", "From"] and any("threshold" in row[-1] for row in rows[1:])

    client.force_login(pmo)
    assert client.get(reverse("audit")).status_code == 403
    assert client.get(reverse("records", args=["audit"])).status_code == 403


def test_admins_read_the_trail_over_the_api(api_client, people):
    manager = people[Role.STORE_MANAGER].owner
    manager.profile.role = Role.PLANNER
    manager.profile.save()
    admin = make_user(Role.ADMIN, username="ada")
    body = token_client(api_client, admin).get("/api/v1/audit", {"kind": "profile", "action": "1"}).json()
    entry = body["results"][0]  # latest first; the people's stores were added before
    assert entry["record_id"] == str(manager.profile.pk)
    assert (entry["action"], entry["model"], entry["actor"]) == ("changed", "controltower.profile", None)
    assert entry["changes"]["role"] == [Role.STORE_MANAGER, Role.PLANNER]
    assert token_client(api_client, manager).get("/api/v1/audit").status_code == 403
    api_client.credentials()
    assert api_client.get("/api/v1/audit").status_code == 401
