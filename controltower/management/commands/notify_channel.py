"""A person's alert channels from the shell: add, remove, list.

`manage.py notify_channel add alice 'slack://T1/B2/C3'`; `remove` takes the
URL, or the channel's number or masked form as `list` prints them."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from controltower import alerts
from controltower.sealing import unseal


def person(username):
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
    if user is None:
        raise CommandError(f"No user '{username}'.")
    return user


class Command(BaseCommand):
    help = "Add, remove or list a person's alert channels (Apprise URLs: mailto, msteams, slack, json)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["add", "remove", "list"])
        parser.add_argument("username")
        parser.add_argument("url", nargs="?", default="")

    def handle(self, *args, action, username, url, **options):
        user = person(username)
        if action == "list":
            for channel in alerts.channels_of(user=user):
                self.stdout.write(f"{channel.pk}\t{channel.masked}")
            return
        if not url:
            raise CommandError(f"{action} needs a URL.")
        if action == "add":
            try:
                channel = alerts.add_channel(url, user=user)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.message_dict["url"])) from exc
            self.stdout.write(f"Added {channel.masked} for {username}.")
            return
        matching = [channel for channel in alerts.channels_of(user=user)
                    if url in (str(channel.pk), channel.masked) or unseal(channel.sealed_url) == url]
        if len(matching) != 1:
            raise CommandError(f"{len(matching)} of {username}'s channels match '{url}': give one.")
        matching[0].delete()
        self.stdout.write(f"Removed {matching[0].masked} from {username}.")
