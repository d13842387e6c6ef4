import os
import socket

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from sellerbot.worker import BotBeat


class Command(BaseCommand):
    help = (
        "Run the Seller Bot worker: an rq worker of the `tiktok` queue, plus the beat that keeps "
        "bot:worker:heartbeat alive and dispatches due tasks while the bot is switched on."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", default=None, help="the rq worker's name (default: bot-<host>-<pid>)")

    def handle(self, *args, name: str | None = None, **options) -> None:
        name = name or f"bot-{socket.gethostname()}-{os.getpid()}"
        beat = BotBeat(worker_name=name)
        beat.start()
        try:
            call_command("rqworker", settings.BOT_QUEUE, name=name, verbosity=options["verbosity"])
        finally:
            beat.stop()
