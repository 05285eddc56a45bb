"""The PMO's rollout screens in Chromium: the PMO opens the board, opens the
red gate and sees the failing criterion with its measured value, asks for a
waiver (approved by the admin: four eyes), finance signs off, and the gate
turns amber: passed, but by a waiver, never green. Board and wave page pass
axe-core's WCAG 2 A/AA rules at 1280 and 768 px; screenshots in var/screenshots/."""
from datetime import timedelta
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from controltower.models import Role
from rollout.evaluation import evaluate_wave, request_evaluation, run_request
from rollout.models import Gate, GateKind
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory
from tests.rollout.factories import (
    BlackoutWindowFactory,
    CriterionFactory,
    GateTemplateFactory,
    TrainingModuleFactory,
    TrainingRecordFactory,
    WaveFactory,
)

from .conftest import DESKTOP, PHONE, TABLET
from .test_accessibility import WCAG_2_A_AA


def assert_no_axe_findings(page, what):
    results = Axe().run(page, options=WCAG_2_A_AA)
    assert results.violations_count == 0, f"{what}\n{results.generate_report()}"


@pytest.fixture
def north_wave():
    """A wave of two stores at its training gate: 1 of 2 people trained (50%),
    the gate asks for 90% and finance's sign-off."""
    stores = [LocationFactory(code="S100", name="Berlin Mitte"), LocationFactory(code="S200", name="Hamburg Hafen")]
    wave = WaveFactory(name="North", stores=stores, planned_cutover=timezone.localdate() + timedelta(days=20))
    GateTemplateFactory(program=wave.program, kind=GateKind.DESIGN_COMPLETE)
    training = GateTemplateFactory(program=wave.program, kind=GateKind.TRAINING_COMPLETE,
                                   required_roles=[Role.FINANCE])
    CriterionFactory(template=training, metric="training_completion", threshold=Decimal("90"))
    GateTemplateFactory(program=wave.program, kind=GateKind.CUTOVER, required_roles=[Role.FINANCE])
    tills, counts = TrainingModuleFactory(code="POS-BASICS"), TrainingModuleFactory(code="STOCK-COUNT")
    done = timezone.now() - timedelta(days=2)
    for person, store, modules in [("P1", stores[0], [tills, counts]), ("P2", stores[1], [tills])]:
        for module in modules:
            TrainingRecordFactory(person_id=person, location=store, module=module, completed_at=done)
    evaluate_wave(wave)
    return wave


@pytest.mark.django_db(transaction=True)
def test_pmo_waives_a_red_gate_and_finance_signs_it_off(page, live_server, log_in, screenshot, north_wave):
    pmo = make_user(Role.PMO, username="paula")
    admin = make_user(Role.ADMIN, username="adele")
    finance = make_user(Role.FINANCE, username="fiona")
    training = Gate.objects.get(wave=north_wave, template__kind=GateKind.TRAINING_COMPLETE)

    # The PMO lands on the board and opens the red gate.
    log_in(pmo)
    page.goto(f"{live_server.url}/")
    assert page.url.endswith("/rollout/")
    cell = page.locator(f"a[href='/rollout/gates/{training.pk}/']")
    assert "Red" in cell.inner_text() and "1 of 1 criteria failing" in cell.inner_text()
    assert_no_axe_findings(page, "board")
    screenshot(page, "rollout-board")
    cell.click()
    detail = page.locator("#gate-detail")
    detail.get_by_text("Training completion").wait_for()
    assert "50.0%" in detail.inner_text() and "at least 90.0%" in detail.inner_text()
    assert "Failing" in detail.inner_text()
    assert_no_axe_findings(page, "board with the gate open")
    screenshot(page, "rollout-board-red-gate")

    # The wave page: a cutover inside a blackout window is refused, naming it.
    detail.get_by_role("link", name="Open the wave page").click()
    page.wait_for_load_state("networkidle")
    assert_no_axe_findings(page, "wave page")
    screenshot(page, "rollout-wave")
    peak = timezone.localdate() + timedelta(days=30)
    BlackoutWindowFactory(name="Christmas peak", program=north_wave.program, starts_on=peak,
                          ends_on=peak + timedelta(days=5))
    page.get_by_label("Planned cutover").fill(f"{peak + timedelta(days=2):%Y-%m-%d}")
    page.get_by_role("button", name="Move the cutover").click()
    page.locator(".field-error").get_by_text("Christmas peak").wait_for()
    assert_no_axe_findings(page, "wave page with the cutover refused")
    screenshot(page, "rollout-wave-cutover-refused")
    page.get_by_label("Planned cutover").fill(f"{peak + timedelta(days=7):%Y-%m-%d}")
    page.get_by_role("button", name="Move the cutover").click()
    page.get_by_text("Cutover of North planned for").wait_for()
    north_wave.refresh_from_db()
    assert north_wave.planned_cutover == peak + timedelta(days=7)

    # Ask for the waiver.
    page.get_by_label("Criterion").select_option(label="Training completion at least 90")
    page.get_by_label("Why may it be waived?").fill("The second module's sessions are booked for next week.")
    page.get_by_label("Waived until").fill((timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Ask for the waiver").click()
    page.get_by_text("another person approves it").first.wait_for()
    assert page.get_by_role("button", name="Approve waiver").count() == 0  # not by the one who asked

    # The admin approves it (four eyes).
    page.context.clear_cookies()
    log_in(admin)
    page.goto(f"{live_server.url}/rollout/waves/{north_wave.pk}/")
    page.get_by_role("button", name="Approve waiver").click()
    page.get_by_text("approved until").wait_for()
    assert "Waived until" in page.locator(f"#gate-{training.pk}").inner_text()

    # Finance signs off: the gate passes by the waiver, so it is amber.
    page.context.clear_cookies()
    log_in(finance)
    page.goto(f"{live_server.url}/rollout/waves/{north_wave.pk}/")
    page.get_by_label("Comment").fill("Cash procedures covered.")
    page.get_by_role("button", name="Sign off").click()
    page.get_by_text("Signed off Training complete as Finance").wait_for()
    training.refresh_from_db()
    assert training.status == Gate.Status.PASSED
    badge = page.locator(f"#gate-{training.pk} .state-badge").inner_text()
    assert badge.startswith("Amber") and "1 waived" in badge
    screenshot(page, "rollout-wave-signed")

    page.context.clear_cookies()
    log_in(pmo)
    page.goto(f"{live_server.url}/rollout/")
    text = page.locator(f"a[href='/rollout/gates/{training.pk}/']").inner_text()
    assert "Amber" in text and "Passed" in text and "1 waived" in text
    screenshot(page, "rollout-board-after")

    page.set_viewport_size(TABLET)
    assert_no_axe_findings(page, "board at 768 px")
    screenshot(page, "rollout-board-768")
    page.goto(f"{live_server.url}/rollout/waves/{north_wave.pk}/")
    page.wait_for_load_state("networkidle")
    assert_no_axe_findings(page, "wave page at 768 px")
    screenshot(page, "rollout-wave-768")


@pytest.mark.django_db(transaction=True)
def test_evaluate_now_says_queued_and_shows_the_result_when_a_worker_has_run_it(
        page, live_server, log_in, screenshot, north_wave):
    pmo = make_user(Role.PMO, username="paula")
    log_in(pmo)
    page.goto(f"{live_server.url}/rollout/waves/{north_wave.pk}/")
    screenshot(page, "rollout-wave-before-evaluate")
    page.set_viewport_size(PHONE)
    screenshot(page, "rollout-wave-before-evaluate-390")
    page.set_viewport_size(DESKTOP)

    # Tasks run inline in the tests: the click's evaluation is done at once.
    page.get_by_role("button", name="Evaluate the open gate now").click()
    page.get_by_text("1 criterion measured, 1 failing").wait_for()

    # A request the worker has not reached yet: the page says queued and polls.
    queued, _ = request_evaluation(north_wave, user=pmo)
    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/evaluation/" in request.url else None)
    page.goto(f"{live_server.url}/rollout/waves/{north_wave.pk}/")
    status = page.get_by_role("status")
    assert "Evaluation queued at" in status.inner_text()
    assert_no_axe_findings(page, "wave page, evaluation queued")
    screenshot(page, "rollout-wave-evaluation-queued")
    page.set_viewport_size(PHONE)
    assert_no_axe_findings(page, "wave page, evaluation queued, at 390 px")
    screenshot(page, "rollout-wave-evaluation-queued-390")

    run_request(queued.pk)  # the worker
    status.get_by_text("1 criterion measured, 1 failing").wait_for(timeout=10_000)
    assert polls  # the line was polled for
    assert_no_axe_findings(page, "wave page, evaluation done, at 390 px")
    screenshot(page, "rollout-wave-evaluation-done-390")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "rollout-wave-evaluation-done")
    done = len(polls)
    page.wait_for_timeout(4_000)  # longer than the polling interval
    assert len(polls) == done  # done: no more polling
    status.get_by_role("link", name="Reload the page to see the new evidence").click()
    page.wait_for_load_state("networkidle")
    assert "1 criterion measured, 1 failing" in page.get_by_role("status").inner_text()
