import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts import bots
from accounts.models import BOT_SCOPES


class Command(BaseCommand):
    help = "Create a bot credential; its token is printed once and kept only as a hash."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", required=True,
                            help=f"Comma-separated, from: {', '.join(BOT_SCOPES)}.")
        parser.add_argument("--owner", default=None, help="Username of the person responsible.")
        parser.add_argument("--team", default="", help="Team responsible.")
        parser.add_argument("--json", action="store_true", help='Print one line {"bot_id", "token"}.')

    def handle(self, *args, name, scopes, owner, team, json: bool, **options):
        user = None
        if owner:
            try:
                user = get_user_model().objects.get(username=owner)
            except get_user_model().DoesNotExist:
                raise CommandError(f"No user named {owner!r}.") from None
        try:
            issued = bots.bot_create(name=name, scopes=scopes, owner=user, team=team)
        except ValueError as error:
            raise CommandError(str(error)) from None
        if json:
            self.stdout.write(dumps({"bot_id": issued.bot.bot_id, "token": issued.token}))
        else:
            self.stdout.write(f"Bot {issued.bot.name!r} created: id {issued.bot.bot_id}, scopes "
                              f"{', '.join(issued.bot.scopes) or '(none)'}, token {issued.token} "
                              "(shown only now).")


def dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)
