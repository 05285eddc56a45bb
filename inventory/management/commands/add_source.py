from django.core.management.base import BaseCommand, CommandError

from controltower.models import ApiToken
from inventory.masterdata import MasterDataError, register_source
from inventory.models import SourceSystem


class Command(BaseCommand):
    help = (
        "Create or update a source system and issue it a new API token. "
        "The token is printed once, alone on the last line; only its hash is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="e.g. POS-LEGACY-EU, ECOM, WMS, ERP")
        parser.add_argument("--kind", required=True, choices=SourceSystem.Kind.values)
        parser.add_argument("--name")
        generation = parser.add_mutually_exclusive_group()
        generation.add_argument(
            "--legacy", dest="generation", action="store_const", const=SourceSystem.Generation.LEGACY,
            help="A legacy system being migrated away from.",
        )
        generation.add_argument(
            "--target", dest="generation", action="store_const", const=SourceSystem.Generation.TARGET,
            help="A target system of the rollout (the default for a new source).",
        )
        parser.add_argument("--interval", type=int, help="Expected feed interval in seconds.")
        parser.add_argument("--latency-target", type=int, help="Latency target in seconds.")

    def handle(self, *args, **options):
        try:
            source, created = register_source(
                options["code"],
                options["kind"],
                name=options["name"],
                generation=options["generation"],
                interval_s=options["interval"],
                latency_target_s=options["latency_target"],
            )
        except MasterDataError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"{'Created' if created else 'Updated'} source {source.code}: {source.get_kind_display()}, "
            f"{source.generation}, interval {source.expected_interval_s} s, "
            f"latency target {source.latency_target_s} s."
        )
        if not source.active:
            self.stdout.write(f"Source {source.code} is inactive: its tokens are refused until it is reactivated.")
        _, raw = ApiToken.issue(source=source)
        self.stdout.write("New API token (shown once, stored hashed):")
        self.stdout.write(raw)
