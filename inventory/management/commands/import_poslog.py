"""import_poslog SOURCE FILE...: post POSLog documents (one per file) as SOURCE,
through the same adapter as POST /api/v1/poslog; a progress bar over many files."""
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inventory import adapters
from inventory.models import SourceSystem

# Fewer files than this are listed one by one, without a bar.
BAR_FROM_FILES = 5
# The refused lines of a file shown one by one; the others are counted.
LINES_SHOWN = 5


class Command(BaseCommand):
    help = ("Post POSLog files as SOURCE (one document per file): each line answered as accepted, duplicate, "
            "conflict, rejected or ignored; a file that is not a POSLog document is refused in one line, "
            "the others still go in. Posting a file again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("source", help="Source system code, e.g. POS-EU")
        parser.add_argument("files", nargs="+", help="POSLog XML files")

    def handle(self, *args, **options):
        source = SourceSystem.objects.filter(code=options["source"]).first()
        if source is None:
            raise CommandError(f"Unknown source system '{options['source']}'.")
        adapter = adapters.get("poslog")
        paths = [Path(name) for name in options["files"]]
        totals, ignored, refused = Counter(), Counter(), 0
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            # On standard error, as a bar is: the summary on standard output stays one line.
            console=Console(file=sys.stderr), disable=len(paths) < BAR_FROM_FILES, transient=True,
        ) as progress:
            task = progress.add_task("POSLog files", total=len(paths))
            for path in paths:
                try:
                    report = adapter.receive(source, path.read_bytes())
                except OSError as exc:
                    refused += 1
                    self.stderr.write(f"{path}: cannot be read: {exc.strerror or exc}.")
                except adapters.Unparseable as exc:
                    refused += 1
                    self.stderr.write(f"{path}: refused: {exc}")
                else:
                    totals.update(report.counts)
                    ignored.update(r.reason for r in report.results if r.status == "ignored")
                    self._refused_lines(path, report)
                    if len(paths) < BAR_FROM_FILES:
                        self.stdout.write(f"{path}: {self._counts(report.counts)}")
                progress.advance(task)
        why = ", ".join(f"{n} {reason}" for reason, n in sorted(ignored.items()))
        self.stdout.write(
            f"{len(paths) - refused} of {len(paths)} files posted as {source.code}: {self._counts(totals)}"
            + (f" (ignored: {why})" if why else "") + "."
        )
        if refused:
            raise CommandError(f"{refused} file(s) refused.")

    def _refused_lines(self, path, report):
        """The first rejected or conflicting lines of a file, and how many more by field."""
        refused = [(n, r) for n, r in enumerate(report.results, start=1) if r.status in ("rejected", "conflict")]
        for number, result in refused[:LINES_SHOWN]:
            self.stderr.write(f"{path}: item {number} {result.transaction_id}: {result.status} {result.errors}")
        if len(refused) > LINES_SHOWN:
            fields = Counter(field for _, result in refused for field in result.errors)
            by_field = ", ".join(f"{field} {n}" for field, n in fields.most_common())
            self.stderr.write(f"{path}: {len(refused) - LINES_SHOWN} more refused (of {len(refused)}, by field: "
                              f"{by_field}); kept for replay, listed on integration health.")

    @staticmethod
    def _counts(counts):
        return ", ".join(f"{counts.get(name, 0)} {name}"
                         for name in ("accepted", "duplicate", "conflict", "rejected", "ignored"))
