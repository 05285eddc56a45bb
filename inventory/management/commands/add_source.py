import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from controltower.models import ApiToken
from inventory.ingest_counts import observed_replays
from inventory.lanes import LaneError, lane_of, set_lane
from inventory.masterdata import DEFAULT_WINDOW, MasterDataError, register_source
from inventory.models import SOURCE_EVENT_TYPES, Snapshot, SourceSystem
from inventory.webhooks import WebhookSecretError, set_webhook_secret

# --webhook-secret given without a value: the tower makes one up.
GENERATE = object()


def _codes(value):
    """'S001, S002' -> ['S001', 'S002']; '' -> [] (no restriction); None (option left out) -> None."""
    if value is None:
        return None
    return [code.strip() for code in value.split(",") if code.strip()]


def _window(value):
    """'600' -> 600; 'default' -> DEFAULT_WINDOW (back to the tower's default)."""
    if value == DEFAULT_WINDOW:
        return value
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"'{value}' is not a number of seconds or 'default'.")
    return int(value)


class Command(BaseCommand):
    help = (
        "Create or update a source system, set its lane, and issue it a new API token. "
        "The token is printed once, alone on the last line; only its hash is stored. "
        "--webhook-secret sets the secret its webhooks are signed with (Shopify's)."
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
        parser.add_argument(
            "--replay-window", type=_window, metavar="SECONDS|default",
            help="Suspected duplicates: at most this many seconds between receiving an event and its replay "
                 "under a new transaction id ('default': the tower's RECONCILE_DUPLICATE_WINDOW_S).",
        )
        # The lane: each option left out keeps what is stored; an empty value ("") lifts the restriction.
        parser.add_argument("--locations", help="Location codes the source feeds, e.g. S001,S002 (default: all).")
        parser.add_argument(
            "--types",
            help=f"Event types it may send, e.g. sale,return (default: all of {','.join(SOURCE_EVENT_TYPES)}).",
        )
        parser.add_argument(
            "--snapshot-kinds",
            help=f"Snapshot kinds it may send (default: all of {','.join(Snapshot.Kind.values)}).",
        )
        parser.add_argument(
            "--loads-master-data", action=argparse.BooleanOptionalAction,
            help="May load locations, SKUs and PO lines (an ERP source always may).",
        )
        parser.add_argument(
            "--channel", help='The channel of its reservations that name none, e.g. web ("": none).',
        )
        parser.add_argument(
            "--releases-expired-reservations", action=argparse.BooleanOptionalAction,
            help="The tower releases its reservations held past their channel's hold time.",
        )
        parser.add_argument(
            "--webhook-secret", nargs="?", const=GENERATE, metavar="SECRET",
            help="The shared secret its webhooks are signed with (Shopify's signing secret); without a value "
                 "the tower generates one and prints it once; \"\" removes it. Stored encrypted.",
        )

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                source, created = register_source(
                    options["code"],
                    options["kind"],
                    name=options["name"],
                    generation=options["generation"],
                    interval_s=options["interval"],
                    latency_target_s=options["latency_target"],
                    loads_master_data=options["loads_master_data"],
                    default_channel=options["channel"],
                    releases_expired_reservations=options["releases_expired_reservations"],
                    replay_window_s=options["replay_window"],
                )
                set_lane(
                    source,
                    locations=_codes(options["locations"]),
                    event_types=_codes(options["types"]),
                    snapshot_kinds=_codes(options["snapshot_kinds"]),
                )
                secret = options["webhook_secret"]
                if secret is not None:
                    secret = set_webhook_secret(source, None if secret is GENERATE else secret)
        except (MasterDataError, LaneError, WebhookSecretError) as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            f"{'Created' if created else 'Updated'} source {source.code}: {source.get_kind_display()}, "
            f"{source.generation}, "
            f"{'interval ' + str(source.expected_interval_s) + ' s' if source.expected_interval_s else 'no interval'}, "
            f"latency target {source.latency_target_s} s."
        )
        self.stdout.write(
            f"Replay window: {source.replay_window_s} s." if source.replay_window_s else
            f"Replay window: the default, {settings.RECONCILIATION['duplicate_window_s']} s."
        )
        self.stdout.write(f"Observed replays: {observed_replays(source).words}")
        self.stdout.write(f"Lane: {lane_of(source).summary()}.")
        if source.loads_master_data:
            self.stdout.write("Loads master data and PO lines.")
        channel = source.default_channel.code if source.default_channel else "none (the default hold time)"
        releases = "released by the tower" if source.releases_expired_reservations else "cases only"
        self.stdout.write(f"Reservations: channel {channel}; past their hold time, {releases}.")
        if not source.active:
            self.stdout.write(f"Source {source.code} is inactive: its tokens are refused until it is reactivated.")
        if options["webhook_secret"] is GENERATE:
            self.stdout.write(f"New webhook secret (shown once, stored encrypted): {secret}")
        elif options["webhook_secret"] is not None:
            self.stdout.write("Webhook secret set (stored encrypted)." if secret else "Webhook secret removed.")
        _, raw = ApiToken.issue(source=source)
        self.stdout.write("New API token (shown once, stored hashed):")
        self.stdout.write(raw)
