from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.models import ModelPrice
from accounts.usage.services import usage_costs_recompute


class Command(BaseCommand):
    help = ("Price again the token usage that occurred between two dates (in TIME_ZONE, both included), with "
            "the prices in force now, and rebuild the daily sums; for after a price was added or corrected.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="First day.")
        parser.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="Last day (included).")
        parser.add_argument("--model", dest="models", action="extend", nargs="+", default=[], metavar="MODEL",
                            help="Only these models (repeat, or list several); all by default.")

    def handle(self, *args, start: str, end: str, models: list[str], **options):
        first, last = parse_day(start, "--from"), parse_day(end, "--to")
        if last < first:
            raise CommandError(f"--to ({last}) is before --from ({first}).")
        models = sorted(set(models))
        changed = usage_costs_recompute(start=day_start(first), end=day_start(last + timedelta(days=1)),
                                        models=models or None)
        which = f" of {', '.join(models)}" if models else ""
        self.stdout.write(f"{changed} usage record(s){which} changed cost between {first} and {last} "
                          f"({timezone.get_current_timezone_name()}).")
        priced = set(ModelPrice.objects.filter(model__in=models).values_list("model", flat=True))
        for model in models:
            if model not in priced:
                self.stderr.write(f"Model {model!r} has no price: its records stay without a cost.")


def parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(f"{option} {value!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-01.") from None


def day_start(day: date) -> datetime:
    """Midnight of `day` in TIME_ZONE."""
    return timezone.make_aware(datetime.combine(day, time.min))
