"""reconcile [KIND ...]: run reconciliation jobs now, in this process."""
from django.core.management.base import BaseCommand, CommandError

from exceptions.reconciliation import KINDS, run_reconciliation


class Command(BaseCommand):
    help = "Run reconciliation kinds synchronously (all when none given) and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("kinds", nargs="*", metavar="KIND", help=f"One of: {', '.join(KINDS)}")

    def handle(self, *args, **options):
        kinds = options["kinds"] or list(KINDS)
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown:
            raise CommandError(
                f"Unknown reconciliation '{unknown[0]}'; one of {', '.join(KINDS)}."
            )
        for kind in kinds:
            report = run_reconciliation(kind)
            self.stdout.write(
                f"{kind}: {len(report.opened)} opened, {len(report.updated)} updated, "
                f"{len(report.reopened)} reopened, {len(report.resolved)} resolved"
            )
