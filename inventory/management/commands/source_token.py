from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from controltower.models import ApiToken
from controltower.tokens import revoke, rotate
from controltower.when import when
from inventory.models import SourceSystem


class Command(BaseCommand):
    help = ("A source system's API tokens: list them, rotate one (its successor is printed once, alone on the "
            "last line; the old one keeps working for the grace period) or revoke one at once.")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", "rotate", "revoke"])
        parser.add_argument("source", help="The source system's code")
        parser.add_argument("--token", metavar="PREFIX",
                            help="The token's first characters (rotate, revoke); needed when it has several")
        parser.add_argument("--grace-hours", type=int, default=None,
                            help="rotate: hours the old token keeps working (default TOKEN_ROTATION_GRACE_HOURS)")

    def handle(self, *args, action, source, token=None, grace_hours=None, **options):
        found = SourceSystem.objects.filter(code=source).first()
        if found is None:
            raise CommandError(f"No source system '{source}'.")
        now = timezone.now()
        tokens = ApiToken.objects.filter(source=found).order_by("created_at", "pk")
        if action == "list":
            for each in tokens:
                state = ("revoked" if each.revoked else f"expires {when(each.expires_at)}" if each.expires_at
                         else "active")
                if not each.revoked and not each.usable(now):
                    state = f"expired {when(each.expires_at)}"
                used = when(each.last_used_at) if each.last_used_at else "never"
                self.stdout.write(f"{each.prefix}…  issued {when(each.created_at)}  last used {used}  {state}")
            return
        usable = [each for each in tokens if each.usable(now) and (token is None or each.prefix.startswith(token))]
        if not usable:
            raise CommandError(f"No usable token of {source}" + (f" starting '{token}'." if token else "."))
        if len(usable) > 1:
            raise CommandError(f"{source} has {len(usable)} usable tokens: name one with --token "
                               f"({', '.join(each.prefix for each in usable)}).")
        [chosen] = usable
        if action == "revoke":
            revoke(chosen)
            self.stdout.write(f"Token {chosen.prefix}… of {source} revoked: refused from now on.")
            return
        if grace_hours is not None and grace_hours < 0:
            raise CommandError("--grace-hours: a number of hours, 0 or more.")
        new, raw = rotate(chosen, grace_hours=grace_hours, now=now)
        self.stdout.write(f"Token {chosen.prefix}… of {source} keeps working until {when(chosen.expires_at)}; "
                          f"its successor {new.prefix}… (shown once, stored hashed):")
        self.stdout.write(raw)
