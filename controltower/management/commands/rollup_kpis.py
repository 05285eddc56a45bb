"""Recompute the KPI rollups from a day on (or only what changed since the last run)."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from controltower.rollups import roll_up, roll_up_since


def _day(text):
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--since: '{text}' is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = ("Write the daily KPI rollups. --since DATE recomputes every day from DATE (UTC) to today; "
            "without it, only the days that received data since the last run (what the beat task does).")

    def add_arguments(self, parser):
        parser.add_argument("--since", type=_day, help="First UTC day to recompute, YYYY-MM-DD")

    def handle(self, *args, since=None, **options):
        try:
            result = roll_up() if since is None else roll_up_since(since)
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"KPI rollup: {result['days']} day(s), {result['rows']} row(s) written.")
