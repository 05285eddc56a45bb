"""Alerts in the kernel (controltower.alerts): channels sealed and masked,
one alert per key, the daily digest, the commands, the Alerts page."""
from datetime import datetime
from datetime import timezone as dt_timezone

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from controltower import alerts
from controltower.alert_tasks import send_alert_digests
from controltower.models import Alert, AlertKind, Channel, Delivery, Role
from controltower.sealing import unseal
from exceptions.models import Team
from tests.controltower.factories import make_user

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


def test_the_daily_digest_gathers_the_alerts_into_one_message(ann, endpoint):
    alerts.add_channel(endpoint.url(), user=ann)
    alerts.set_digest(ann, True)
    alerts.raise_alert(AlertKind.CASES, "a", "First", "1", users=[ann], link="/rollout/", at=AT)
    alerts.raise_alert(AlertKind.ESCALATIONS, "b", "Second", "2", users=[ann], at=AT)
    assert not Delivery.objects.exists()  # nothing sent one by one
    assert send_alert_digests() == {"deliveries": 1}
    assert send_alert_digests() == {"deliveries": 0}  # nothing left to carry
    assert len(endpoint.received) == 1
    assert endpoint.received[0]["message"] == "- First (/rollout/)\n- Second"
    digest = Alert.objects.get(key__startswith="digest:")
    assert set(Alert.objects.filter(digest=digest).values_list("key", flat=True)) == {"a", "b"}
    assert digest.deliveries.get().state == Delivery.State.SENT


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
    alert = alerts.raise_alert(AlertKind.CRITERIA_RED, "x", "[Control Tower] Gate red", "Body", users=[ann], link="/rollout/", at=AT)[0]
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
    client.post(reverse("alert-digest"), {"daily_digest": "on"})
    assert alerts.on_digest(ann)


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
