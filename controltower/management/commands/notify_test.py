"""Send one test message to each of a person's alert channels, now, without
a worker, and print what each channel answered."""
from django.core.management.base import BaseCommand, CommandError

from controltower import alerts

from .notify_channel import person


class Command(BaseCommand):
    help = "Send one test alert to each of a person's channels now and print each channel's answer."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        answers = alerts.test_channels(person(username))
        if not answers:
            raise CommandError(f"{username} has no alert channel: add one with notify_channel add.")
        for masked, accepted, answer in answers:
            self.stdout.write(f"{masked}\t{'accepted' if accepted else 'FAILED'}\t{answer}")
        if not all(accepted for _, accepted, _ in answers):
            raise CommandError("A channel did not accept the test message.")
