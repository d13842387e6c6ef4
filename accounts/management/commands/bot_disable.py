from django.core.management.base import BaseCommand

from accounts import bots
from accounts.management.commands.bot_create import dumps
from accounts.management.commands.bot_rotate import bot_by_id


class Command(BaseCommand):
    help = "Disable a bot: its tokens, current and previous, stop working."

    def add_arguments(self, parser):
        parser.add_argument("bot_id")
        parser.add_argument("--json", action="store_true", help='Print one line {"bot_id", "active": false}.')

    def handle(self, *args, bot_id, json: bool, **options):
        bot = bots.bot_disable(bot=bot_by_id(bot_id))
        if json:
            self.stdout.write(dumps({"bot_id": bot.bot_id, "active": bot.is_active}))
        else:
            self.stdout.write(f"Bot {bot.bot_id} ({bot.name}) disabled.")
