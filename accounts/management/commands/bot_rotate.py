from django.core.management.base import BaseCommand, CommandError

from accounts import bots
from accounts.management.commands.bot_create import dumps
from accounts.models import Bot
from project.clock import iso_local


class Command(BaseCommand):
    help = "Issue a new token for a bot; the previous one keeps working for BOT_TOKEN_ROTATION_GRACE_SECONDS."

    def add_arguments(self, parser):
        parser.add_argument("bot_id")
        parser.add_argument("--json", action="store_true",
                            help='Print one line {"bot_id", "token", "previous_token_valid_until"}.')

    def handle(self, *args, bot_id, json: bool, **options):
        bot = bot_by_id(bot_id)
        issued = bots.bot_rotate(bot=bot)
        until = iso_local(issued.previous_token_valid_until)
        if json:
            self.stdout.write(dumps({"bot_id": bot.bot_id, "token": issued.token,
                                     "previous_token_valid_until": until}))
        else:
            self.stdout.write(f"Bot {bot.bot_id}: new token {issued.token} (shown only now); "
                              f"the previous one works until {until}.")


def bot_by_id(bot_id: str) -> Bot:
    try:
        return Bot.objects.get(bot_id=bot_id)
    except Bot.DoesNotExist:
        raise CommandError(f"No bot with id {bot_id!r}.") from None
