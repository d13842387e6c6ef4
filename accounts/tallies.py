"""A bot's daily counts of what became of what it sent: accepted, duplicate, rejected, unkeyed."""

from datetime import datetime

from django.utils import timezone

from accounts.models import Bot, IntakeTally
from project import intake


def intake_tally(*, bot: Bot, stream: str, counts: dict[str, int], day: datetime) -> None:
    """Add to a bot's daily counts of accepted / duplicate / rejected / unkeyed items."""
    intake.increment(IntakeTally, [
        {"bot": bot.pk, "stream": stream, "outcome": outcome, "day": timezone.localdate(day), "count": count}
        for outcome, count in sorted(counts.items()) if count
    ], keys=("bot", "stream", "outcome", "day"), sums=("count",))
