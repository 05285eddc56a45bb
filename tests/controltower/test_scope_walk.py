"""Every URL in the URL conf, walked as an outsider: a store manager of store
A1, and the regional ops lead of north (A1's region). Another store, B1 in
south, has a row of every scoped model; every path parameter is filled with
B1's object. The walk fails on any 200 that shows B1's data (its code, name,
or an object's reference), on any list or export row at a location the
outsider does not see, and on any POST that changes B1's objects. An object
of B1 is not found (404) on the screens and in the API alike; the admin
sends a non-staff person to its login.

A new URL whose parameter the walk cannot fill fails here until PARAMETERS
or OBJECT_OF learns it."""
import csv
import io
import json
import re

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

from controltower.models import Channel, Role
from exceptions.api.views import AdjustmentViewSet, CaseViewSet
from exceptions.models import (
    Case,
    CaseComment,
    CaseHistory,
    CaseLink,
    CorrectiveAdjustment,
)
from inventory.models import (
    Journey,
    InventoryEvent,
    Location,
    Position,
    PurchaseOrderLine,
    ReceivedDocument,
    RejectedEvent,
    SnapshotLine,
    Transfer,
)
from rollout.api import criteria_views
from rollout.api import views as rollout_api
from rollout.models import (
    BlackoutWindow,
    Criterion,
    Evaluation,
    Gate,
    GateChange,
    GateTemplate,
    GoNoGo,
    Program,
    SignOff,
    TrainingRecord,
    Waiver,
    Wave,
)
from tests.controltower.factories import make_user, person_token
from tests.exceptions.factories import CaseFactory, CorrectiveAdjustmentFactory
from tests.inventory.factories import (
    InventoryEventFactory,
    LocationFactory,
    PositionFactory,
    PurchaseOrderLineFactory,
    RegionFactory,
    RejectedEventFactory,
    SKUFactory,
    SnapshotLineFactory,
    SourceSystemFactory,
    TransferFactory,
)
from tests.rollout.factories import rollout_rows

pytestmark = pytest.mark.django_db

OWN = {"manager": {"ZA101"}, "regional": {"ZA101", "ZA102"}}


class World:
    """North: ZA101 (the manager's) and ZA102; south: ZB901, the other store, and ZC902."""

    def __init__(self):
        north, south = RegionFactory(code="ZNORTH"), RegionFactory(code="ZSOUTH")
        self.mine = LocationFactory(code="ZA101", name="Linden Corner", region=north)
        self.neighbour = LocationFactory(code="ZA102", name="Birch Row", region=north)
        self.other = LocationFactory(code="ZB901", name="Quartz Wharf", region=south)
        self.far = LocationFactory(code="ZC902", name="Slate Quay", region=south)
        self.people = {
            "manager": make_user(Role.STORE_MANAGER, [self.mine], username="walk-manager"),
            "regional": make_user(Role.REGIONAL_OPS, region=north, username="walk-regional"),
        }
        sku, source = SKUFactory(code="WALKSKU"), SourceSystemFactory(code="WALK-POS")
        self.own = self._store_rows(self.mine, "ZA101", sku, source)
        self.theirs = self._store_rows(self.other, "ZB901", sku, source)
        self.transfer = TransferFactory(reference="TR-ZB901", sku=sku, from_location=self.other, to_location=self.far)
        CaseLink.objects.create(case=self.theirs["case"], kind=CaseLink.Kind.TRANSFER, object_id=self.transfer.pk)
        # A case on no location (a feed's) is for the estate roles only.
        self.unplaced = CaseFactory(location=None, sku=None, reference="REF-NOLOC-ZX", fingerprint="walk|noloc",
                                    summary="Feed WALK-POS silent (ZX)")
        self.forbidden = {
            "ZB901", "Quartz Wharf", "ZC902", "Slate Quay", "REF-NOLOC-ZX", "TR-ZB901",
            # People scoped to stores see no rejections at all, their own stores' included.
            "REJ-ZA101", "REJ-ZB901",
        } | {text for row in self.theirs.values() for text in getattr(row, "walk_texts", ())}

    def _store_rows(self, store, code, sku, source):
        case = CaseFactory(location=store, sku=sku, reference=f"REF-{code}", summary=f"Stock below zero at {code}")
        rows = {
            "case": case,
            "adjustment": CorrectiveAdjustmentFactory(case=case, transaction_id=f"case-adj-{code}"),
            "position": PositionFactory(location=store, sku=sku, available=-3),
            "event": InventoryEventFactory(location=store, sku=sku, source=source, transaction_id=f"TXN-{code}",
                                           reference=f"RCPT-{code}"),
            "snapshot_line": SnapshotLineFactory(location=store, sku=sku),
            "po_line": PurchaseOrderLineFactory(location=store, sku=sku, po_number=f"PO-{code}"),
            "rejection": RejectedEventFactory(source=source, transaction_id=f"REJ-{code}",
                                              payload={"transaction_id": f"REJ-{code}", "location": code}),
            "journey": Journey.objects.create(kind="order_to_fulfilment", business_id=f"WEB-{code}", location=store,
                                              state="placed"),
        }
        for kind, row in (("event", "event"), ("snapshot_line", "snapshot_line"), ("po_line", "po_line"),
                          ("rejection", "rejection")):
            CaseLink.objects.create(case=case, kind=kind, object_id=rows[row].pk)
        rows.update(rollout_rows(store, code))
        case.walk_texts = (f"REF-{code}", f"Stock below zero at {code}")
        rows["adjustment"].walk_texts = (f"case-adj-{code}",)
        rows["event"].walk_texts = (f"TXN-{code}", f"RCPT-{code}")
        rows["po_line"].walk_texts = (f"PO-{code}",)
        rows["journey"].walk_texts = (f"WEB-{code}",)
        return rows

    def state_of_others(self):
        """Everything of the other store, and of no store, a POST could change."""
        other, cases = self.other, Case.objects.exclude(location=self.mine).exclude(location=self.neighbour)
        return [
            list(cases.order_by("pk").values()),
            CaseHistory.objects.filter(case__in=cases).count(),
            CaseComment.objects.filter(case__in=cases).count(),
            list(CorrectiveAdjustment.objects.filter(case__in=cases).order_by("pk").values()),
            list(Position.objects.filter(location=other).order_by("pk").values()),
            list(InventoryEvent.objects.filter(location=other).order_by("pk").values()),
            list(SnapshotLine.objects.filter(location_id=other.pk).order_by("pk").values()),
            list(PurchaseOrderLine.objects.filter(location=other).order_by("pk").values()),
            list(Transfer.objects.order_by("pk").values()),
            list(RejectedEvent.objects.order_by("pk").values()),
            list(Location.objects.filter(region=other.region).order_by("pk").values()),
            [list(model.objects.order_by("pk").values()) for model in (Program, Wave, Gate, Evaluation, Waiver,
                                                                       SignOff, GoNoGo, BlackoutWindow, TrainingRecord)],
        ]


def _patterns(patterns=None, prefix=""):
    """(path template, callback, parameter names) of every URL, resolvers walked recursively."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.callback, list(pattern.pattern.regex.groupindex)


def _model_of(template, callback):
    """The model whose object a URL's pk names."""
    admin = getattr(callback, "model_admin", None)
    if admin is not None:
        return admin.model
    viewset = getattr(callback, "cls", None)
    if viewset is CaseViewSet:
        return Case
    if viewset is AdjustmentViewSet:
        return CorrectiveAdjustment
    rollout_viewsets = {
        rollout_api.ProgramViewSet: Program, rollout_api.WaveViewSet: Wave, rollout_api.GateViewSet: Gate,
        rollout_api.EvaluationViewSet: Evaluation, rollout_api.WaiverViewSet: Waiver,
        rollout_api.SignOffViewSet: SignOff, rollout_api.GoNoGoViewSet: GoNoGo,
        rollout_api.BlackoutWindowViewSet: BlackoutWindow,
        criteria_views.CriterionViewSet: Criterion, criteria_views.GateChangeViewSet: GateChange,
        criteria_views.GateTemplateViewSet: GateTemplate,
    }
    if viewset in rollout_viewsets:
        return rollout_viewsets[viewset]
    module = getattr(callback, "__module__", "")
    if module == "controltower.web.alerts":  # /alerts/channels/<pk>/remove/
        return Channel
    if module == "rollout.hypercare_views":  # /hypercare/waves/<pk>/...
        return Wave
    if module in ("rollout.views", "rollout.setup_views"):  # the rollout screens name their object in the path
        screens = {"rollout/gates/": Gate, "rollout/waves/": Wave, "rollout/waivers/": Waiver}
        return next((model for prefix, model in screens.items() if template.startswith(prefix)), None)
    if module == "inventory.views" and template.startswith("integration/rejections/"):
        return RejectedEvent
    if module == "inventory.views" and template.startswith("integration/documents/"):
        return ReceivedDocument
    return {"exceptions.views.case": Case, "exceptions.views.approvals": CorrectiveAdjustment,
            "inventory.journey_views": Journey}.get(module)


def _fill(template, callback, names, world):
    """The URL with every parameter naming an object of the other store (or
    something harmless where the parameter names no object)."""
    model = _model_of(template, callback)
    objects = {Case: world.theirs["case"], CorrectiveAdjustment: world.theirs["adjustment"],
               Position: world.theirs["position"], InventoryEvent: world.theirs["event"],
               PurchaseOrderLine: world.theirs["po_line"], RejectedEvent: world.theirs["rejection"],
               Journey: world.theirs["journey"],
               Transfer: world.transfer, Location: world.other,
               **{type(row): row for row in world.theirs.values() if type(row).__module__ == "rollout.models"}}
    values = {}
    for name in names:
        if name == "object_id" and "content_type_id" in names:  # the admin's "view on site"
            values[name] = str(world.theirs["case"].pk)
        elif name in ("pk", "object_id"):
            if model is None:
                pytest.fail(f"The walk does not know which object {template} takes: teach _model_of.")
            target = objects.get(model) or model._default_manager.order_by("pk").first()
            values[name] = str(target.pk) if target else "1"
        elif name == "region":  # the hypercare drill-down: the other store's region
            values[name] = world.other.region.code
        elif name == "code":  # ... and the other store
            values[name] = world.other.code
        elif name == "content_type_id":
            values[name] = str(ContentType.objects.get_for_model(Case).pk)
        elif name == "id":  # the admin's password change of a user
            values[name] = str(world.people["manager"].pk)
        elif name == "app_label":
            values[name] = "exceptions"
        elif name == "name" and template.startswith("records/"):  # a records page: the ledger lines
            values[name] = "events"
        elif name == "url":  # the admin's catch-all
            values[name] = "nowhere/"
        elif name == "code" and template.startswith("stores/"):  # the store page: the other store's
            values[name] = world.other.code
        elif name == "attachment_id":  # a file of the other store's case: the case is not found first
            values[name] = "1"
        elif name == "source_code":  # a source's webhook: signed by the source, never a person's
            values[name] = "POS-THEIRS"
        else:
            pytest.fail(f"The walk cannot fill <{name}> of {template}: teach _fill.")

    def value(match):
        return values[match.group("name")]

    path = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, template)  # route converters
    path = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", value, path)  # regex groups
    return "/" + path.replace("^", "").replace("$", "")


def _post_data(world, user):
    case = world.theirs["case"]
    form = {"assignee": str(user.pk), "body": "walk", "waiting_on": "walk", "resolution_code": "recounted",
            "root_cause": "shrink", "reason": "FOUND", "confirm": "on", "state": "available", "quantity": "3",
            "action": "acknowledge", "cases": [str(case.pk)]}
    api = {"assignee": user.username, "body": "walk", "waiting_on": "walk", "resolution_code": "recounted",
           "root_cause": "shrink", "note": "", "reason": "walk", "events": [], "locations": [], "skus": [],
           "lines": [], "as_of": "2026-01-01T00:00:00+00:00"}
    return form, api


def _body(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _location_values(data, codes):
    """Every string in a JSON document that is a location code."""
    if isinstance(data, dict):
        for value in data.values():
            yield from _location_values(value, codes)
    elif isinstance(data, list):
        for value in data:
            yield from _location_values(value, codes)
    elif isinstance(data, str) and data in codes:
        yield data


def _check_body(world, who, method, path, response):
    body = _body(response)
    shown = sorted(text for text in world.forbidden if text in body)
    assert not shown, f"{who} {method} {path} -> {response.status_code} shows {shown}"
    codes = set(Location.objects.values_list("code", flat=True))
    if response.get("Content-Type", "").startswith("application/json"):
        seen = set(_location_values(json.loads(body), codes))
        assert seen <= OWN[who], f"{who} {method} {path} lists rows at {sorted(seen - OWN[who])}"
    if response.get("Content-Type", "").startswith("text/csv"):
        rows = list(csv.DictReader(io.StringIO(body)))
        seen = {row["location"] for row in rows if row.get("location")}
        assert seen <= OWN[who], f"{who} {method} {path} exports rows at {sorted(seen - OWN[who])}"


@pytest.fixture
def world(default_routing):
    return World()


@pytest.mark.parametrize("who", ["manager", "regional"])
def test_an_outsider_walks_every_url_and_sees_nothing_of_another_store(client, world, who):
    user = world.people[who]
    token = person_token(user)
    form, api = _post_data(world, user)
    before = world.state_of_others()
    walked = {"GET": 0, "POST": 0}
    for template, callback, names in _patterns():
        path = _fill(template, callback, names, world)
        is_api, is_admin = path.startswith("/api/"), path.startswith("/admin/")
        for method in ("GET", "POST"):
            client.force_login(user)  # POST /logout/ ends the session: every request starts signed in
            headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if is_api else {}
            if method == "GET":
                response = client.get(path, **headers)
            elif is_api:
                response = client.post(path, json.dumps(api), content_type="application/json", **headers)
            else:
                response = client.post(path, form, **headers)
            walked[method] += 1
            if response.status_code == 200:
                _check_body(world, who, method, path, response)
            # An object of the other store: not found, screen and API alike (a records page's
            # <name> is a list, not an object: its body is checked above like any list's).
            if "source_code" in names:  # a source's webhook: its signature alone opens it
                assert response.status_code in (401, 405), f"{who} {method} {path} -> {response.status_code}"
            elif names and not is_admin and not path.startswith("/records/"):
                assert response.status_code in (404, 405), f"{who} {method} {path} -> {response.status_code}"
            if is_admin and path != "/admin/login/":
                assert response.status_code in (302, 404, 405), f"{who} {method} {path} -> {response.status_code}"
            if method == "POST":
                assert world.state_of_others() == before, f"{who} POST {path} changed another store's data"
    assert walked["GET"] == walked["POST"] > 100


@pytest.mark.parametrize("who", ["manager", "regional"])
def test_the_walk_is_not_blind_the_outsider_sees_their_own(client, world, who):
    """The same pages show the outsider's own store, so the walk above is not passing on empty pages."""
    client.force_login(world.people[who])
    own = world.own["case"]
    page = client.get(f"/cases/{own.pk}/")
    assert page.status_code == 200 and "REF-ZA101" in page.content.decode()
    assert "TXN-ZA101" in page.content.decode()  # the lineage of an own case
    queue = client.get("/cases/").content.decode()
    assert "REF-ZA101" in queue and "REF-ZB901" not in queue
    api = client.get("/api/v1/events", HTTP_AUTHORIZATION=f"Token {person_token(world.people[who])}").json()
    assert [row["transaction_id"] for row in api["results"]] == ["TXN-ZA101"]
