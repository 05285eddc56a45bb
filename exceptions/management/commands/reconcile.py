"""reconcile [KIND ...]: run reconciliation jobs now, in this process."""
from django.core.management.base import BaseCommand, CommandError

from exceptions.detectors import DETECTORS
from exceptions.reconciliation.runs import run_kind


class Command(BaseCommand):
    help = ("Run reconciliation kinds synchronously (all when none given), each on its own, and print "
            "what changed; a kind that fails is reported and the others still run.")

    def add_arguments(self, parser):
        parser.add_argument("kinds", nargs="*", metavar="KIND", help=f"One of: {', '.join(DETECTORS)}")

    def handle(self, *args, **options):
        kinds = options["kinds"] or list(DETECTORS)
        unknown = [kind for kind in kinds if kind not in DETECTORS]
        if unknown:
            raise CommandError(
                f"Unknown reconciliation '{unknown[0]}'; one of {', '.join(DETECTORS)}."
            )
        failed = []
        for kind in kinds:
            run = run_kind(kind)
            if run.outcome == run.Outcome.OK:
                counts = run.counts
                self.stdout.write(
                    f"{kind}: {counts['opened']} opened, {counts['updated']} updated, "
                    f"{counts['reopened']} reopened, {counts['resolved']} resolved"
                )
            else:
                failed.append(kind)
                self.stderr.write(f"{kind}: {run.get_outcome_display().lower()}: {run.error}")
        if failed:
            raise CommandError(f"{len(failed)} of {len(kinds)} kinds did not finish: {', '.join(failed)} "
                               "(the others ran; see integration health).")
