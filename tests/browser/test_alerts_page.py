"""The Alerts page in Chromium: an administrator adds a channel from the
form, sees it masked, the alerts sent with their delivery state (one failing,
shown), turns a kind of alert off and chooses a digest hour (htmx, in place),
the teams' channels and kinds; axe-core's WCAG 2 A/AA rules at desktop, tablet
and phone widths; screenshots in var/screenshots/."""
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest

from controltower import alerts
from controltower.models import AlertKind, Delivery, Role
from exceptions.models import Team
from tests.controltower.factories import make_user

from .conftest import DESKTOP, PHONE, TABLET
from .test_rollout import assert_no_axe_findings

AT = datetime(2026, 11, 4, 9, tzinfo=dt_timezone.utc)


@pytest.mark.django_db(transaction=True)
def test_a_person_manages_their_channels_and_sees_each_alerts_delivery(page, live_server, log_in, screenshot,
                                                                       default_routing):
    admin = make_user(Role.ADMIN, username="ada")
    alerts.add_channel("mailto://store-ops@example.com", team=Team.objects.get(code="STORE-OPS"))
    # Raised before the person has channels (the deliveries are made by hand: no worker here).
    failing = alerts.raise_alert(AlertKind.CRITERIA_RED, "red:1", "[Control Tower] North / Data readiness: "
                                 "Item master completeness turned red", "Body", users=[admin], link="/rollout/",
                                 at=AT)[0]
    sent = alerts.raise_alert(AlertKind.CASES, "case:1", "[Control Tower] Case #12 assigned to you: Negative "
                              "stock at S100", "Body", users=[admin], link="/cases/", at=AT)[0]
    webhook = alerts.add_channel("json://hooks.example.com/tower", user=admin)
    Delivery.objects.create(alert=sent, channel=webhook, state=Delivery.State.SENT, attempts=1, sent_at=AT,
                            answer="accepted", created_at=AT)
    Delivery.objects.create(alert=failing, channel=webhook, state=Delivery.State.FAILING, attempts=7,
                            answer="Failed to send JSON POST notification: error=500.", created_at=AT)
    log_in(admin)

    page.goto(f"{live_server.url}/alerts/")
    page.get_by_label("Apprise URL", exact=True).fill("slack://T1234/B5678/abcdefghijklmnopqrstuvwx")
    page.get_by_role("button", name="Add the channel").click()
    page.wait_for_url(f"{live_server.url}/alerts/")
    assert page.get_by_text("slack://…uvwx").is_visible()
    assert "abcdefgh" not in page.content()
    assert page.get_by_text("after 7 attempts: Failed to send JSON POST notification: error=500.").is_visible()

    # The kinds told and the digest are saved in place (htmx), saying so.
    page.get_by_label("Stale sources", exact=True).uncheck()
    page.get_by_role("button", name="Save what I am told about").click()
    page.get_by_text("Saved: you are told about the kinds ticked.").wait_for()
    assert AlertKind.STALE_SOURCES not in alerts.kinds_told(user=admin)
    page.get_by_label("One daily digest instead of a message per alert").check()
    page.get_by_label("Send my digest at").select_option("06:00")
    page.get_by_role("button", name="Save the digest choice").click()
    page.get_by_text("Saved: your digest comes daily at 06:00 (UTC).").wait_for()
    assert alerts.digest_of(admin).digest_hour == 6

    for name, size in (("1280", DESKTOP), ("768", TABLET), ("390", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"alerts-{name}")
        assert_no_axe_findings(page, f"alerts page at {name} px")
