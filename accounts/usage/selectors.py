"""Reads of metering shared by the status route, the usage API, the pages and the admin."""

from datetime import date
from decimal import Decimal

from django.db.models import Sum

from accounts.models import Bot, IntakeTally, UsageDaily
from accounts.usage.budgets import month_after, month_start

USAGE_SUMS = ("records", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
              "total_tokens", "cost", "unpriced_records")


def usage_month_get(*, bot: Bot, month: date | None = None) -> dict:
    """The bot's usage in a calendar month (this one by default), from the daily sums."""
    month = month or month_start()
    next_month = month_after(month)
    sums = UsageDaily.objects.filter(bot=bot, day__gte=month, day__lt=next_month).aggregate(
        **{name: Sum(name) for name in USAGE_SUMS})
    body = {name: int(sums[name] or 0) for name in USAGE_SUMS if name != "cost"}
    body["cost"] = str((sums["cost"] or Decimal(0)).quantize(Decimal("0.000001")))
    return {"month": f"{month:%Y-%m}", **body}


def intake_counts_get(*, bot: Bot) -> dict[str, dict[str, int]]:
    """Every record and event the bot has sent, by what became of it: {stream: {outcome: n}}."""
    counts = {stream: {outcome: 0 for outcome in IntakeTally.Outcome.values} for stream in IntakeTally.Stream.values}
    for row in IntakeTally.objects.filter(bot=bot).values("stream", "outcome").annotate(n=Sum("count")).order_by():
        counts[row["stream"]][row["outcome"]] = int(row["n"])
    return counts

