"""Each reconciliation kind runs on its own, bounded and alone
(exceptions.reconciliation.runs, issue 18): a kind that fails is recorded,
logged and shown while the others run; a second run while one goes on ends
at once; a run past its budget is stopped and reported; an incremental kind
starts from its watermark."""
import logging
import threading
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from controltower.models import Role
from exceptions import reconciliation
from exceptions.detectors import DETECTORS
from exceptions.findings import CaseKind
from exceptions.models import Case, ReconciliationRun
from exceptions.reconciliation.common import fetch_rows
from exceptions.reconciliation.runs import TIME_LIMIT_S, run_kind
from inventory.ledger import ingest_events
from inventory.models import SourceSystem
from tests.controltower.factories import make_user
from tests.inventory.factories import LocationFactory, SKUFactory, SourceSystemFactory

pytestmark = pytest.mark.django_db(transaction=True)

Outcome = ReconciliationRun.Outcome


def a_finder_that_cannot_complete(**when):
    """A faulty kind: its query names a table that is not there (a real database error)."""
    return fetch_rows("SELECT id FROM no_such_table", [])


def sale(txn, store, sku, quantity, at, **extra):
    return {"transaction_id": txn, "type": "sale", "location": store.code, "sku": sku.code,
            "quantity": quantity, "occurred_at": at.isoformat(), **extra}


@pytest.fixture
def sold_short(default_routing):
    """A store that sold what it did not have (negative stock), and a feed gone quiet (stale feed: an
    ecommerce platform, whose silence counts around the clock, unlike tills' at night)."""
    store, sku = LocationFactory(), SKUFactory(unit_cost=Decimal("3.00"))
    till = SourceSystemFactory(code="WEB-RUNS", kind=SourceSystem.Kind.ECOM, expected_interval_s=60)
    ingest_events(till, [sale("S1", store, sku, 4, timezone.now() - timedelta(hours=2))],
                  received_at=timezone.now() - timedelta(hours=2))
    return store, sku, till


def test_a_kind_that_fails_is_recorded_and_shown_while_the_others_run(monkeypatch, client, sold_short, caplog):
    monkeypatch.setitem(DETECTORS, CaseKind.SUSPECTED_DUPLICATE,
                        replace(DETECTORS[CaseKind.SUSPECTED_DUPLICATE], find=a_finder_that_cannot_complete))

    with caplog.at_level(logging.ERROR, logger="exceptions.reconciliation"):
        with pytest.raises(CommandError, match=f"1 of {len(DETECTORS)} kinds did not finish: suspected_duplicate"):
            call_command("reconcile")

    failed = ReconciliationRun.objects.get(kind=CaseKind.SUSPECTED_DUPLICATE)
    assert failed.outcome == Outcome.FAILED and "no_such_table" in failed.error
    assert "reconcile suspected_duplicate failed" in caplog.text
    # Every kind after it ran, and did its work.
    assert set(ReconciliationRun.objects.filter(outcome=Outcome.OK).values_list("kind", flat=True)) == (
        set(DETECTORS) - {CaseKind.SUSPECTED_DUPLICATE})
    assert Case.objects.filter(kind=CaseKind.NEGATIVE_STOCK).exists()
    assert Case.objects.filter(kind=CaseKind.STALE_FEED).exists()
    # The integration admin sees it.
    client.force_login(make_user(Role.INTEGRATION_ADMIN))
    page = client.get(reverse("integration-health")).content.decode()
    row = page[page.index('id="run-suspected_duplicate"'):]
    row = row[:row.index("</tr>")]
    assert "Failed" in row and "no_such_table" in row and '<td class="num">1</td>' in row


def test_a_second_run_while_one_goes_on_ends_at_once_as_skipped(sold_short):
    """On PostgreSQL the running run holds the kind's advisory lock (here: another
    connection); on SQLite its running row says so."""
    kind = CaseKind.NEGATIVE_STOCK
    held, release = threading.Event(), threading.Event()

    def another_run():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"reconcile:{kind}"])
                held.set()
                release.wait(10)
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [f"reconcile:{kind}"])
        finally:
            connections.close_all()

    if connection.vendor == "postgresql":
        thread = threading.Thread(target=another_run)
        thread.start()
        assert held.wait(10)
    else:
        ReconciliationRun.objects.create(kind=kind, started_at=timezone.now())
    try:
        run = run_kind(kind)
    finally:
        release.set()
        if connection.vendor == "postgresql":
            thread.join()

    assert run.outcome == Outcome.SKIPPED and run.finished_at is not None
    assert not Case.objects.filter(kind=kind).exists()
    # Once it has ended, the next run runs.
    if connection.vendor != "postgresql":
        ReconciliationRun.objects.filter(outcome=Outcome.RUNNING).update(outcome=Outcome.OK)
    assert run_kind(kind).outcome == Outcome.OK
    assert Case.objects.filter(kind=kind).exists()


def test_a_run_whose_worker_died_is_recorded_as_failed_by_the_next_run(sold_short):
    kind = CaseKind.NEGATIVE_STOCK
    # A run that started past the hard time limit ago and never ended: its worker was killed.
    dead = ReconciliationRun.objects.create(
        kind=kind, started_at=timezone.now() - timedelta(seconds=TIME_LIMIT_S + 1))

    assert run_kind(kind).outcome == Outcome.OK

    dead.refresh_from_db()
    assert dead.outcome == Outcome.FAILED and "without finishing" in dead.error


def test_a_run_past_its_budget_is_stopped_and_reported_not_left_running(sold_short):
    run = run_kind(CaseKind.NEGATIVE_STOCK, budget_s=0)

    assert run.outcome == Outcome.TIMED_OUT and "budget of 0 s" in run.error
    assert not Case.objects.filter(kind=CaseKind.NEGATIVE_STOCK).exists()
    assert not ReconciliationRun.objects.filter(outcome=Outcome.RUNNING).exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_a_query_past_the_budget_is_cancelled_by_postgresql(monkeypatch, sold_short):
    """The statement timeout ends a query that would outlive the run's budget."""
    monkeypatch.setitem(DETECTORS, CaseKind.NEGATIVE_STOCK, replace(
        DETECTORS[CaseKind.NEGATIVE_STOCK], find=lambda: fetch_rows("SELECT pg_sleep(5)", [])))
    started = timezone.now()

    run = run_kind(CaseKind.NEGATIVE_STOCK, budget_s=1)

    assert run.outcome == Outcome.TIMED_OUT and "query ran past" in run.error
    assert (run.finished_at - started).total_seconds() < 4
    with connection.cursor() as cursor:  # the timeout was the run's alone
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_suspected_duplicate_looks_from_its_watermark_and_keeps_the_cases_before_it(default_routing):
    store, sku, till = LocationFactory(), SKUFactory(), SourceSystemFactory(code="TILL-W")
    at = timezone.now() - timedelta(minutes=30)
    ingest_events(till, [sale("A", store, sku, 2, at, reference="R-A")], received_at=at)
    ingest_events(till, [sale("A2", store, sku, 2, at, reference="R-A")], received_at=at + timedelta(minutes=1))

    first = run_kind(CaseKind.SUSPECTED_DUPLICATE)
    assert first.outcome == Outcome.OK and first.counts["opened"] == 1 and first.watermark is not None
    old = Case.objects.get(kind=CaseKind.SUSPECTED_DUPLICATE)
    ingest_events(till, [sale("B", store, sku, 3, at, reference="R-B")], received_at=at + timedelta(minutes=2))
    ingest_events(till, [sale("B2", store, sku, 3, at, reference="R-B")], received_at=at + timedelta(minutes=3))

    second = run_kind(CaseKind.SUSPECTED_DUPLICATE)

    assert second.counts == {"opened": 1, "updated": 0, "reopened": 0, "resolved": 0}
    assert second.watermark > first.watermark
    old.refresh_from_db()
    assert old.status == Case.Status.OPEN  # not looked at again, not cleared
    assert reconciliation.suspected_duplicate(since=second.watermark) == []


def test_a_first_run_that_cannot_finish_its_look_back_leaves_a_watermark_and_says_so(default_routing):
    """Else a look-back too large for the budget would time out on every run and never find anything."""
    store, sku, till = LocationFactory(), SKUFactory(), SourceSystemFactory(code="TILL-F")
    at = timezone.now() - timedelta(minutes=30)
    ingest_events(till, [sale("A", store, sku, 2, at, reference="R-A")], received_at=at)
    ingest_events(till, [sale("A2", store, sku, 2, at, reference="R-A")], received_at=at + timedelta(minutes=1))

    first = run_kind(CaseKind.SUSPECTED_DUPLICATE, budget_s=0)

    assert first.outcome == Outcome.TIMED_OUT and first.watermark is not None
    assert f"rows up to {first.watermark} were not looked at" in first.error
    ingest_events(till, [sale("B", store, sku, 3, at, reference="R-B")], received_at=at + timedelta(minutes=2))
    ingest_events(till, [sale("B2", store, sku, 3, at, reference="R-B")], received_at=at + timedelta(minutes=3))
    second = run_kind(CaseKind.SUSPECTED_DUPLICATE)
    assert second.outcome == Outcome.OK and second.counts["opened"] == 1
    assert Case.objects.get(kind=CaseKind.SUSPECTED_DUPLICATE).summary.count("R-B") == 1
    # A steady run that times out leaves no watermark: its rows are looked at again next time.
    assert run_kind(CaseKind.SUSPECTED_DUPLICATE, budget_s=0).watermark is None
