"""A source token rotated without downtime (both work during the grace
period, then only the new one) or revoked at once; both in the audit trail."""
from datetime import timedelta
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command
from django.utils import timezone

from controltower.models import ApiToken
from controltower.tokens import revoke, rotate
from tests.inventory.factories import SourceSystemFactory

pytestmark = pytest.mark.django_db

START = timezone.datetime(2026, 11, 20, 9, 0, tzinfo=timezone.get_fixed_timezone(0))


def answers(api_client, raw):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return api_client.get("/api/v1/locations").status_code


@pytest.fixture
def till():
    return SourceSystemFactory(code="POS-EU")


def test_both_tokens_work_during_the_grace_period_then_only_the_new_one(api_client, till, time_machine, settings):
    time_machine.move_to(START, tick=False)
    settings.TOKEN_ROTATION_GRACE_HOURS = 24
    old, old_raw = ApiToken.issue(source=till)
    new, new_raw = rotate(old)
    assert (new.source, old.expires_at) == (till, START + timedelta(hours=24))
    assert answers(api_client, old_raw) == answers(api_client, new_raw) == 200

    time_machine.move_to(START + timedelta(hours=23, minutes=59))
    assert answers(api_client, old_raw) == 200
    time_machine.move_to(START + timedelta(hours=24))
    assert (answers(api_client, old_raw), answers(api_client, new_raw)) == (401, 200)
    with pytest.raises(ValueError, match="already revoked or expired"):
        rotate(ApiToken.objects.get(pk=old.pk))

    # In the trail: the old token's expiry set, the new one issued.
    [expiry] = LogEntry.objects.get_for_object(old).filter(action=LogEntry.Action.UPDATE)
    assert expiry.changes["expires_at"][0] == "None"
    assert LogEntry.objects.get_for_object(new).filter(action=LogEntry.Action.CREATE).exists()


def test_a_revoked_token_is_refused_at_once_and_the_revocation_recorded(api_client, till):
    token, raw = ApiToken.issue(source=till)
    assert answers(api_client, raw) == 200
    revoke(token)
    assert answers(api_client, raw) == 401
    assert LogEntry.objects.get_for_object(token).filter(changes__icontains="revoked").exists()


def test_the_source_token_command_lists_rotates_and_revokes(till, settings):
    settings.TOKEN_ROTATION_GRACE_HOURS = 24
    first, _ = ApiToken.issue(source=till)
    out = StringIO()
    call_command("source_token", "rotate", "POS-EU", "--grace-hours", "2", stdout=out)
    lines = out.getvalue().splitlines()
    successor = ApiToken.objects.get(source=till, expires_at__isnull=True)
    assert lines[-1].startswith(successor.prefix) and f"{first.prefix}… of POS-EU keeps working until" in lines[0]
    first.refresh_from_db()
    assert timedelta(hours=1, minutes=59) < first.expires_at - timezone.now() <= timedelta(hours=2)

    with pytest.raises(CommandError, match="2 usable tokens: name one with --token"):
        call_command("source_token", "revoke", "POS-EU")
    call_command("source_token", "revoke", "POS-EU", "--token", first.prefix, stdout=StringIO())
    first.refresh_from_db()
    assert first.revoked

    listing = StringIO()
    call_command("source_token", "list", "POS-EU", stdout=listing)
    assert [line.split("…")[0] for line in listing.getvalue().splitlines()] == [first.prefix, successor.prefix]
    assert listing.getvalue().splitlines()[0].endswith("revoked")
    with pytest.raises(CommandError, match="No source system 'NOPE'"):
        call_command("source_token", "list", "NOPE")


def test_no_token_begins_with_a_dash_so_its_prefix_is_never_read_as_an_option(till):
    # One random token in 64 would (base64url): 200 of them all but surely show it.
    prefixes = [ApiToken.issue(source=till)[0].prefix for _ in range(200)]
    assert not [prefix for prefix in prefixes if prefix.startswith("-")]
