from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Issue a long-lived API token (default 365 days) for a user's integration."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--days", type=int, default=None, help="Lifetime in days.")
        parser.add_argument("--label", default="", help="Who or what uses the token.")

    def handle(self, *args, username, days, label, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        token, record = services.integration_token_issue(user=user, days=days, label=label)
        self.stdout.write(token)
        self.stderr.write(f"jti {record.jti}, valid until {record.expires_at:%Y-%m-%d %H:%M %Z}")
