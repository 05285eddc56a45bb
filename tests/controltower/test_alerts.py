"""Alerts in the kernel (controltower.alerts): channels sealed and masked,
one alert per key, the daily digest, the commands, the Alerts page."""
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from controltower import alert_delivery, alerts
from controltower.alert_tasks import send_alert_digests
from controltower.models import Alert, AlertKind, Channel, Delivery, Role
from controltower.sealing import unseal
from exceptions.models import Team
from tests.conftest import on_postgres
from tests.controltower.factories import make_user
from tests.threads import run_at_once

pytestmark = pytest.mark.django_db

AT = datetime(2026, 11, 4, 9, tzinfo=dt_timezone.utc)
SLACK = "slack://T1234ABCD/B5678EFGH/abcdefghijklmnopqrstuvwx"


@pytest.fixture
def ann():
    return make_user(Role.PMO, username="ann")


def test_a_channel_is_sealed_at_rest_and_shown_masked(ann):
    channel = alerts.add_channel(SLACK, user=ann)
    stored = Channel.objects.get(pk=channel.pk)
    assert "abcdefghijklmnop" not in stored.sealed_url and unseal(stored.sealed_url) == SLACK
    assert stored.masked == "slack://…uvwx"


@pytest.mark.parametrize("url", ["", "https://example.com/hook", "gopher://x", "slack://"])
def test_a_url_apprise_does_not_take_is_refused_naming_the_field(ann, url):
    with pytest.raises(Exception) as error:
        alerts.add_channel(url, user=ann)
    assert "url" in error.value.message_dict
    assert not Channel.objects.exists()


def test_an_event_is_raised_once_per_key_and_person(ann):
    alerts.add_channel(SLACK, user=ann)
    first = alerts.raise_alert(AlertKind.CRITERIA_RED, "gate-red:1", "Red", "Body", users=[ann], at=AT)
    again = alerts.raise_alert(AlertKind.CRITERIA_RED, "gate-red:1", "Red", "Body", users=[ann], at=AT)
    assert len(first) == 1 and again == []
    assert Delivery.objects.get().state == Delivery.State.PENDING


def test_the_daily_digest_gathers_the_alerts_into_one_message_at_the_hour_chosen(ann, endpoint, time_machine):
    alerts.add_channel(endpoint.url(), user=ann)
    alerts.set_digest(ann, True, 7, "Europe/Paris", now=AT)  # 10:00 in Paris: the first digest is tomorrow's
    alerts.raise_alert(AlertKind.CASES, "a", "First", "1", users=[ann], link="/rollout/", at=AT)
    alerts.raise_alert(AlertKind.ESCALATIONS, "b", "Second", "2", users=[ann], at=AT)
    assert not Delivery.objects.exists()  # nothing sent one by one

    time_machine.move_to(datetime(2026, 11, 4, 23, tzinfo=dt_timezone.utc), tick=False)
    assert send_alert_digests() == {"deliveries": 0}  # midnight in Paris: not the hour
    time_machine.move_to(datetime(2026, 11, 5, 6, tzinfo=dt_timezone.utc), tick=False)  # 07:00 in Paris
    assert send_alert_digests() == {"deliveries": 1}
    assert send_alert_digests() == {"deliveries": 0}  # a rerun sends nothing
    assert len(endpoint.received) == 1
    assert endpoint.received[0]["message"] == "- First (/rollout/)\n- Second"
    digest = Alert.objects.get(key__startswith="digest:")
    assert digest.key == "digest:2026-11-05" and "05 Nov 2026" in digest.subject
    assert set(Alert.objects.filter(digest=digest).values_list("key", flat=True)) == {"a", "b"}
    assert digest.deliveries.get().state == Delivery.State.SENT


def _hours(start, count):
    return [start + timedelta(hours=n) for n in range(count)]


@pytest.mark.parametrize(("hour", "start", "expected"), [
    # Paris leaves summer time on Sunday 25 October 2026 (03:00 CEST becomes 02:00 CET): 07:00 is 05:00 UTC, then 06:00.
    (7, datetime(2026, 10, 23, 22, tzinfo=dt_timezone.utc),
     ["2026-10-24 05:00", "2026-10-25 06:00", "2026-10-26 06:00"]),
    # Paris enters summer time on Sunday 29 March 2026 (02:00 CET becomes 03:00 CEST): 02:00 never comes that
    # day, and the digest goes at the first hour after it.
    (2, datetime(2026, 3, 27, 22, tzinfo=dt_timezone.utc),
     ["2026-03-28 01:00", "2026-03-29 01:00", "2026-03-30 00:00"]),
])
def test_the_hourly_run_sends_each_digest_once_a_day_at_its_local_hour_across_a_dst_change(
        ann, hour, start, expected):
    alerts.add_channel(SLACK, user=ann)
    alerts.set_digest(ann, True, hour, "Europe/Paris", now=start)
    sent_at = []
    for now in _hours(start, 72):  # beat's hourly run for three days, an alert raised before each
        alerts.raise_alert(AlertKind.CASES, f"case:{now:%d%H}", "A case", "Body", users=[ann], at=now)
        if alert_delivery.digests(now):
            sent_at.append(f"{now:%Y-%m-%d %H:%M}")
    assert sent_at == expected
    digests = Alert.objects.filter(key__startswith="digest:").order_by("created_at")
    assert list(digests.values_list("key", flat=True)) == [f"digest:{moment[:10]}" for moment in expected]


def test_a_day_missed_while_no_worker_ran_is_sent_at_the_next_run_and_only_once(ann):
    alerts.add_channel(SLACK, user=ann)
    alerts.set_digest(ann, True, 7, "", now=datetime(2026, 11, 3, 8, tzinfo=dt_timezone.utc))  # the tower's: UTC
    alerts.raise_alert(AlertKind.CASES, "a", "First", "1", users=[ann], at=datetime(2026, 11, 3, 9,
                                                                                   tzinfo=dt_timezone.utc))
    # No worker from 3 November 08:00 to 5 November 04:00: the 4th's digest goes at the first run back, before 07:00.
    back = datetime(2026, 11, 5, 4, tzinfo=dt_timezone.utc)
    assert len(alert_delivery.digests(back)) == 1
    assert Alert.objects.get(key__startswith="digest:").key == "digest:2026-11-04"
    assert alert_delivery.digests(back + timedelta(hours=1)) == []
    alerts.raise_alert(AlertKind.CASES, "b", "Second", "2", users=[ann], at=back + timedelta(hours=2))
    assert len(alert_delivery.digests(back + timedelta(hours=3))) == 1  # 07:00: the 5th's, with the alert since
    assert alert_delivery.digests(back + timedelta(hours=4)) == []
    assert Alert.objects.get(key="b").digest.key == "digest:2026-11-05"


def test_moving_the_digest_to_another_hour_never_sends_twice_a_day(ann):
    alerts.add_channel(SLACK, user=ann)
    alerts.set_digest(ann, True, 7, "", now=AT - timedelta(days=1))
    alerts.raise_alert(AlertKind.CASES, "a", "First", "1", users=[ann], at=AT - timedelta(hours=3))
    assert len(alert_delivery.digests(AT - timedelta(hours=2))) == 1  # 07:00 on the 4th
    alerts.set_digest(ann, True, 18, "", now=AT)
    alerts.raise_alert(AlertKind.CASES, "b", "Second", "2", users=[ann], at=AT)
    assert alert_delivery.digests(AT.replace(hour=18)) == []  # the 4th had its digest
    assert len(alert_delivery.digests(AT.replace(day=5, hour=18))) == 1


def test_a_digest_hour_or_time_zone_not_known_is_refused_naming_the_field(ann):
    with pytest.raises(ValidationError) as error:
        alerts.set_digest(ann, True, 24, now=AT)
    assert "digest_hour" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        alerts.set_digest(ann, True, 7, "Mars/Olympus", now=AT)
    assert "time_zone" in error.value.message_dict
    assert not alerts.on_digest(ann)


@pytest.mark.skipif(not on_postgres(), reason="needs PostgreSQL: SQLite serialises writers, no race to test")
@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_make_one_digest():
    ann = make_user(Role.PMO, username="ann")
    alerts.add_channel(SLACK, user=ann)
    alerts.set_digest(ann, True, 7, "", now=AT - timedelta(days=1))
    alerts.raise_alert(AlertKind.CASES, "a", "First", "1", users=[ann], at=AT - timedelta(hours=3))
    results = run_at_once([lambda: alert_delivery.digests(AT)] * 2)
    assert sorted(len(made) for made in results) == [0, 1], results
    assert Delivery.objects.count() == 1


def test_a_person_or_a_team_is_told_only_the_kinds_left_on(ann):
    assert alerts.kinds_told(user=ann) == list(AlertKind)  # every kind until turned off
    alerts.set_kinds_told([AlertKind.CASES, AlertKind.STALE_SOURCES], user=ann)
    assert alerts.kinds_told(user=ann) == [AlertKind.CASES, AlertKind.STALE_SOURCES]
    team = Team.objects.get(code="STORE-OPS")
    alerts.set_kinds_told([AlertKind.CASES], team=team)
    assert alerts.raise_alert(AlertKind.CRITERIA_RED, "red:1", "Red", "Body", users=[ann], at=AT) == []
    assert len(alerts.raise_alert(AlertKind.CASES, "case:1", "Case", "Body", users=[ann], teams=[team], at=AT)) == 2
    assert alerts.raise_alert(AlertKind.ESCALATIONS, "esc:1", "Escalated", "Body", teams=[team], at=AT) == []


def test_notify_channel_adds_lists_and_removes(ann, capsys):
    call_command("notify_channel", "add", "ann", SLACK)
    call_command("notify_channel", "add", "ann", "mailto://ann@example.com")
    call_command("notify_channel", "list", "ann")
    listed = capsys.readouterr().out
    assert "slack://…uvwx" in listed and "mailto://….com" in listed and "abcdefgh" not in listed
    call_command("notify_channel", "remove", "ann", SLACK)
    assert list(Channel.objects.values_list("masked", flat=True)) == ["mailto://….com"]
    with pytest.raises(CommandError, match="Apprise URL"):
        call_command("notify_channel", "add", "ann", "https://example.com")
    with pytest.raises(CommandError, match="No user"):
        call_command("notify_channel", "list", "nobody")


def test_notify_test_sends_to_each_channel_now_and_says_what_each_answered(ann, endpoint, capsys):
    alerts.add_channel(endpoint.url("good"), user=ann)
    alerts.add_channel(endpoint.url("bad"), user=ann)
    endpoint.statuses = [200, 503]
    with pytest.raises(CommandError, match="did not accept"):
        call_command("notify_test", "ann")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("json://…good\taccepted")
    assert lines[1].startswith("json://…/bad\tFAILED") and "error=503" in lines[1]
    assert [body["title"] for body in endpoint.received] == ["[Control Tower] Test alert"] * 2
    assert not Alert.objects.exists()  # a test is not an alert


def test_the_alerts_page_lists_channels_masked_and_alerts_with_their_delivery_state(client, ann):
    channel = alerts.add_channel(SLACK, user=ann)
    alert = alerts.raise_alert(AlertKind.CRITERIA_RED, "x", "[Control Tower] Gate red", "Body", users=[ann],
                               link="/rollout/", at=AT)[0]
    Delivery.objects.filter(alert=alert).update(state=Delivery.State.FAILING, attempts=7, answer="error=500.")
    client.force_login(ann)
    page = client.get(reverse("alerts")).content.decode()
    assert "slack://…uvwx" in page and "abcdefgh" not in page
    assert "Gate red" in page and "Failing" in page and "after 7 attempts: error=500." in page
    assert "Teams' channels" not in page  # only an administrator edits the teams'

    refused = client.post(reverse("alert-channel-add"), {"url": "https://example.com"})
    assert refused.status_code == 400 and "Must be an Apprise URL" in refused.content.decode()
    client.post(reverse("alert-channel-add"), {"url": "mailto://ann@example.com"})
    client.post(reverse("alert-channel-remove", args=[channel.pk]))
    assert list(Channel.objects.values_list("masked", flat=True)) == ["mailto://….com"]
    client.post(reverse("alert-digest"), {"daily_digest": "on", "digest_hour": "6", "time_zone": "Europe/Lisbon"})
    assert alerts.on_digest(ann) and alerts.digest_of(ann).digest_hour == 6
    assert str(alert_delivery.zone_of_person(ann)) == "Europe/Lisbon"
    refused = client.post(reverse("alert-digest"), {"daily_digest": "on", "digest_hour": "25"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()


def test_the_alerts_page_saves_the_kinds_told_over_htmx_and_says_so(client, ann):
    client.force_login(ann)
    page = client.get(reverse("alerts")).content.decode()
    assert page.count('name="kinds"') == len(AlertKind) and page.count("checked") >= len(AlertKind)
    answer = client.post(reverse("alert-kinds"), {"kinds": ["cases", "waiting"]}, headers={"HX-Request": "true"})
    assert answer.status_code == 200 and "Saved: you are told about the kinds ticked." in answer.content.decode()
    assert alerts.kinds_told(user=ann) == [AlertKind.CASES, AlertKind.WAITING]
    refused = client.post(reverse("alert-kinds"), {"kinds": ["gossip"]})
    assert refused.status_code == 400 and "gossip is not one of the available choices" in refused.content.decode()
    team = Team.objects.get(code="STORE-OPS")
    assert client.post(reverse("alert-kinds"), {"kinds": [], "team": team.pk}).status_code == 403
    client.force_login(make_user(Role.ADMIN, username="root"))
    client.post(reverse("alert-kinds"), {"kinds": ["cases"], "team": team.pk})
    assert alerts.kinds_told(team=team) == [AlertKind.CASES]


def test_only_an_administrator_edits_a_teams_channels(client, ann):
    team = Team.objects.get(code="STORE-OPS")
    client.force_login(ann)
    assert client.post(reverse("alert-channel-add"), {"url": SLACK, "team": team.pk}).status_code == 403
    other = alerts.add_channel(SLACK, team=team)
    assert client.post(reverse("alert-channel-remove", args=[other.pk])).status_code == 403
    someone = alerts.add_channel(SLACK, user=make_user(Role.PMO, username="bea"))
    assert client.post(reverse("alert-channel-remove", args=[someone.pk])).status_code == 404
    admin = make_user(Role.ADMIN, username="root")
    client.force_login(admin)
    assert "Teams' channels" in client.get(reverse("alerts")).content.decode()
    client.post(reverse("alert-channel-add"), {"url": "mailto://ops@example.com", "team": team.pk})
    assert Channel.objects.filter(team=team).count() == 2
