from django.core.management.base import BaseCommand, CommandError

from inventory.ledger import rebuild_positions


class Command(BaseCommand):
    help = (
        "Recompute every position from the ledger and repair the differences. "
        "With --check, only report them and exit with code 1 when there are any."
    )

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Report differences; change nothing.")

    def handle(self, *args, check, **options):
        report = rebuild_positions(repair=not check)
        for location, sku, state, stored, ledger in report.differences:
            self.stdout.write(f"{location} {sku} {state}: position {stored}, ledger {ledger}")
        count = len(report.differences)
        outcome = "repaired" if report.repaired and count else "found"
        self.stdout.write(f"Checked {report.positions_checked} positions: {count} difference(s) {outcome}.")
        if check and count:
            raise CommandError(f"{count} position difference(s) from the ledger.", returncode=1)
