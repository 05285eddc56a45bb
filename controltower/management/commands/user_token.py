from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from controltower.models import ApiToken


class Command(BaseCommand):
    help = "Issue a new API token for a person. The token is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(f"No user '{username}'.")
        if not user.is_active:
            raise CommandError(f"User '{username}' is inactive; its tokens would be refused.")
        _, raw = ApiToken.issue(user=user)
        self.stdout.write(f"New API token for {username} (shown once, stored hashed):")
        self.stdout.write(raw)
