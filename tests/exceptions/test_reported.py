"""Issues people report: a case of kind `reported` from the header's form or
POST /api/v1/cases, routed, timed and kept like every case, counted per
wave by a registered metric and shown on hypercare by category."""
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from controltower.metrics import Scope, Window, measure
from controltower.models import ApiToken, Role
from exceptions.detectors import DETECTORS, RAISED_BY_PEOPLE, beat_schedule, kind_choices
from exceptions.models import Case
from exceptions.reconciliation import run_reconciliation
from tests.inventory.factories import SourceSystemFactory
from tests.records import records_behind
from tests.rollout.factories import WaveFactory

pytestmark = pytest.mark.django_db


def report(client, **fields):
    body = {"location": "S-OWN", "category": "pricing", "severity": "2",
            "description": "The shelf labels show last week's prices", **fields}
    return client.post(reverse("report-issue"), body)


def test_a_store_manager_reports_an_issue_that_becomes_a_routed_timed_case(client, people, default_routing):
    manager = people[Role.STORE_MANAGER].owner
    client.force_login(manager)
    form = client.get(reverse("report-issue")).content.decode()
    assert "S-OWN" in form and "S-OTHER" not in form and "Item master" in form

    answer = report(client)
    case = Case.objects.get(kind="reported")
    assert answer.status_code == 302 and answer["Location"] == reverse("case-detail", args=[case.pk])
    assert (case.location.code, case.severity, case.status, case.reference) == ("S-OWN", 2, "open", "")
    assert case.details == {"category": "Pricing", "description": "The shelf labels show last week's prices",
                            "reported_by": manager.username}
    assert case.owner.code == "REGIONAL-OPS" and case.resolution_due_at > case.opened_at
    [opened] = case.history.all()
    assert (opened.action, opened.actor) == ("reported", manager)
    page = client.get(answer["Location"]).content.decode()
    assert "last week&#x27;s prices" in page and "Reported issue" in page
    assert "Quantity at risk" not in page and "Value at risk" not in page  # a report measures neither
    assert page.count("<dt>Category</dt><dd>Pricing</dd>") == 1 and "<code>Pricing</code>" not in page


def test_a_report_names_what_is_wrong_and_keeps_nothing(client, people, default_routing):
    client.force_login(people[Role.STORE_MANAGER].owner)
    outside = report(client, location="S-OTHER")
    assert outside.status_code == 400 and "S-OTHER" in outside.content.decode()
    empty = report(client, description="   ", category="weather")
    assert empty.status_code == 400
    assert Case.objects.filter(kind="reported").count() == 0


def test_the_api_takes_reported_issues_only_and_from_people_only(api_client, people, default_routing):
    planner = people[Role.PLANNER].owner
    _token, raw = ApiToken.issue(user=planner)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    body = {"kind": "reported", "location": "S-OWN", "category": "pos", "severity": 1,
            "description": "Tills refuse the new barcodes"}
    made = api_client.post("/api/v1/cases", body, format="json")
    assert made.status_code == 201
    assert (made.json()["kind"], made.json()["severity"], made.json()["location"]) == ("reported", 1, "S-OWN")

    other = api_client.post("/api/v1/cases", {**body, "kind": "negative_stock"}, format="json")
    assert other.status_code == 400 and "kind" in other.json()["errors"]
    bad = api_client.post("/api/v1/cases", {**body, "severity": 7, "location": "NOWHERE"}, format="json")
    assert bad.status_code == 400 and "severity" in bad.json()["errors"]
    nowhere = api_client.post("/api/v1/cases", {**body, "location": "NOWHERE"}, format="json")
    assert nowhere.status_code == 400 and "location" in nowhere.json()["errors"]

    _token, source_raw = ApiToken.issue(source=SourceSystemFactory(code="POS-EU"))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {source_raw}")
    assert api_client.post("/api/v1/cases", body, format="json").status_code == 403
    assert Case.objects.filter(kind="reported").count() == 1


def test_a_kind_raised_by_people_is_declared_once_and_never_run_or_cleared(client, people, default_routing):
    assert "reported" in dict(kind_choices()) and "reported" in RAISED_BY_PEOPLE
    assert "reported" not in DETECTORS and "reconcile-reported" not in beat_schedule()
    client.force_login(people[Role.STORE_MANAGER].owner)
    report(client)
    for kind in DETECTORS:
        run_reconciliation(kind)
    assert Case.objects.get(kind="reported").status == "open"


def test_the_open_severe_reports_of_a_wave_are_a_metric_with_their_records(client, people, default_routing):
    client.force_login(people[Role.STORE_MANAGER].owner)
    report(client, severity="1")
    report(client, severity="2", category="hardware")
    report(client, severity="3")
    resolved = Case.objects.create(kind="reported", severity=1, location=people.store, fingerprint="reported:old",
                                   opened_at=timezone.now() - timedelta(days=2), status="resolved",
                                   resolved_at=timezone.now() - timedelta(days=1))
    scope = Scope.of(locations=[people.store.pk])
    measured = measure("open_reported_sev12", scope, Window(None, timezone.now()))
    assert (measured.value, measured.reading.sample) == (2, 2)
    rows = records_behind(client, measured.reading.records_url, people[Role.PMO].owner)
    assert sorted(int(row["severity"]) for row in rows) == [1, 2] and str(resolved.pk) not in [row["id"] for row in rows]


def test_hypercare_shows_the_reports_of_the_wave_by_category(client, people, default_routing):
    wave = WaveFactory(name="Pilot", stores=[people.store])
    client.force_login(people[Role.STORE_MANAGER].owner)
    report(client, severity="1")
    report(client, severity="3")
    report(client, category="pos", severity="4")
    client.force_login(people[Role.PMO].owner)
    page = client.get(reverse("hypercare-wave", args=[wave.pk]))
    [table] = [t for t in page.context["tables"] if t.name == "reported-issues"]
    assert [[cell.text for cell in row] for row in table.rows] == [["POS", "1", "0", "1"],
                                                                    ["Pricing", "2", "1", "2"]]
    pricing_severe = table.rows[1][2].url
    rows = records_behind(client, pricing_severe, people[Role.PMO].owner)
    assert [row["severity"] for row in rows] == ["1"]


def picture(kind="JPEG", exif=True):
    from PIL import Image

    image = Image.new("RGB", (40, 30), (200, 30, 30))
    buffer = io.BytesIO()
    extra = {}
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make; a phone's GPS position rides the same way
        extra["exif"] = tags.tobytes()
    image.save(buffer, kind, **extra)
    return SimpleUploadedFile(f"shelf.{kind.lower()}", buffer.getvalue(), content_type=f"image/{kind.lower()}")


def test_a_photo_is_kept_without_its_metadata_and_shown_only_to_who_sees_the_case(
        client, people, default_routing, settings, tmp_path):
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    client.force_login(people[Role.STORE_MANAGER].owner)
    report(client, photo=picture())
    case = Case.objects.get(kind="reported")
    [attachment] = case.attachments.all()
    assert attachment.content_type == "image/jpeg" and (tmp_path / attachment.file.name).exists()
    with Image.open(tmp_path / attachment.file.name) as kept:
        assert kept.size == (40, 30) and not kept.getexif()
    url = reverse("case-attachment", args=[case.pk, attachment.pk])
    assert url in client.get(reverse("case-detail", args=[case.pk])).content.decode()
    shown = client.get(url)
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert b"".join(shown.streaming_content) == (tmp_path / attachment.file.name).read_bytes()

    client.force_login(people[Role.STORE_MANAGER].outsider)
    assert client.get(url).status_code == 404


def test_a_file_that_is_not_a_picture_is_refused_naming_the_photo(client, people, default_routing, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    client.force_login(people[Role.STORE_MANAGER].owner)
    fake = SimpleUploadedFile("shelf.jpg", b"#!/bin/sh\necho not a photo\n", content_type="image/jpeg")
    answer = report(client, photo=fake)
    assert answer.status_code == 400 and "Not a picture this tower can read" in answer.content.decode()
    settings.REPORT_PHOTO_MAX_BYTES = 100
    assert "At most 100\xa0bytes" in report(client, photo=picture("PNG", exif=False)).content.decode()
    assert Case.objects.filter(kind="reported").count() == 0 and not list(tmp_path.iterdir())
