import logging

from django.core.management.base import BaseCommand

from project.scheduler import ResilientCronScheduler


class Command(BaseCommand):
    help = (
        "Run the periodic tasks registered in a cron module (e.g. project.cron), as rqcron does, "
        "but riding out a Redis that stalls or restarts."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("config_path", help="module or file that registers the periodic tasks")

    def handle(self, *args, config_path: str, **options) -> None:
        scheduler = ResilientCronScheduler(logging_level=logging.WARNING)
        scheduler.load_config_from_file(config_path)
        scheduler.start()
