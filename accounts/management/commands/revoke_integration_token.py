from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import services


class Command(BaseCommand):
    help = "Revoke an integration token by its jti, or all of a user's with --user."

    def add_arguments(self, parser):
        parser.add_argument("jti", nargs="?")
        parser.add_argument("--user", dest="username")

    def handle(self, *args, jti, username, **options):
        if not jti and not username:
            raise CommandError("Give a token's jti or --user USERNAME.")
        user = None
        if username:
            try:
                user = get_user_model().objects.get(username=username)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {username!r}.") from None
        count = services.integration_token_revoke(jti=jti or None, user=user)
        if count == 0:
            raise CommandError("No active token matched.")
        self.stdout.write(f"Revoked {count} token(s).")
