from django.core.management.base import BaseCommand, CommandError

from inventory.ledger import replay_rejections
from inventory.models import SourceSystem


class Command(BaseCommand):
    help = "Post kept rejections again, after the master data behind them was fixed."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="Only this source system's rejections (its code).")

    def handle(self, *args, source, **options):
        source_system = None
        if source:
            source_system = SourceSystem.objects.filter(code=source).first()
            if source_system is None:
                raise CommandError(f"No source system '{source}'.")
        counts = replay_rejections(source=source_system)
        self.stdout.write(
            f"Replayed {sum(counts.values())} rejection(s): {counts['accepted']} accepted, "
            f"{counts['duplicate']} duplicate, {counts['conflict']} conflict, "
            f"{counts['rejected']} still rejected."
        )
