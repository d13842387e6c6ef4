"""Reads of metering shared by the status route, the usage API, the pages and the admin."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import (
    Bot,
    BudgetAlert,
    BudgetUnit,
    IntakeTally,
    TokenUsage,
    UsageConversationDaily,
    UsageDaily,
)
from accounts.usage.budgets import BudgetState, month_after, month_start

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



# --- the usage dashboard and the usage API ----------------------------------------------------
# The page reads the daily rollups only (a few rows per bot, model and day), never TokenUsage:
# its filters (bot, model, day) are all columns of UsageDaily.

TOKEN_SUMS = ("records", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens",
              "unpriced_records")
TOP_CONVERSATIONS = 10
RECENT_ALERTS = 10


@dataclass(frozen=True)
class BotBudget:
    bot: Bot
    state: BudgetState

    @property
    def percent(self) -> int:
        """The part of the budget used, past 100 when over it."""
        return int(self.state.used * 100 / self.state.budget) if self.state.budget else 100

    @property
    def bar_percent(self) -> int:
        return min(100, self.percent)

    @property
    def level(self) -> str:
        """"over", "warning" or "ok", for the page's colours."""
        return "over" if self.state.over else "warning" if self.state.warning else "ok"


@dataclass(frozen=True)
class UsageDashboard:
    start: date
    end: date
    totals: dict
    per_day: list[dict]
    per_bot: list[dict]
    per_model: list[dict]
    budgets: list[BotBudget]
    alerts: list[BudgetAlert]

    @property
    def unpriced_models(self) -> list[str]:
        return [row["model"] for row in self.per_model if row["unpriced_records"]]


def usage_daily_rows(*, start: date | None = None, end: date | None = None, bot: Bot | None = None,
                     model: str | None = None) -> QuerySet[UsageDaily]:
    """The daily sums of the days from `start` to `end` (both included, TIME_ZONE), of one bot
    and/or one model."""
    rows = UsageDaily.objects.all()
    if start:
        rows = rows.filter(day__gte=start)
    if end:
        rows = rows.filter(day__lte=end)
    if bot is not None:
        rows = rows.filter(bot=bot)
    if model:
        rows = rows.filter(model=model)
    return rows


def usage_dashboard_get(*, start: date, end: date, bot: Bot | None = None, model: str | None = None) -> UsageDashboard:
    """The usage page's figures for a period, from the daily rollups: totals, each day, each bot,
    each model; and, whatever the period, this month's budgets and budget alerts. (The top
    conversations are read apart: see usage_top_conversations.)"""
    rows = usage_daily_rows(start=start, end=end, bot=bot, model=model)
    return UsageDashboard(
        start=start, end=end, totals=_sums(rows.aggregate(**_sum_expressions())),
        per_day=_per_day(rows, start=start, end=end), per_bot=_per_bot(rows), per_model=_per_model(rows),
        budgets=budget_states_list(), alerts=budget_alerts_recent(),
    )


def usage_models_list() -> list[str]:
    """Every model that has usage, for the page's model filter (from the rollups)."""
    return list(UsageDaily.objects.order_by("model").values_list("model", flat=True).distinct())


def usage_top_conversations(*, start: date, end: date, bot: Bot | None = None,
                            limit: int = TOP_CONVERSATIONS) -> list[dict]:
    """The conversations with most tokens in the period (UsageConversationDaily keeps no model:
    a conversation's figures are those of every model it used).

    This sums a row per conversation and day, which may be nearly as many rows as there are
    records (a million conversation-days take about 0.4 s on PostgreSQL): the page loads it on
    its own request, after its figures."""
    rows = UsageConversationDaily.objects.filter(day__gte=start, day__lte=end)
    if bot is not None:
        rows = rows.filter(bot=bot)
    top = list(rows.values("bot_id", "conversation_id").annotate(
        records_sum=Sum("records"), tokens_sum=Sum("total_tokens"), cost_sum=Sum("cost"),
    ).order_by("-tokens_sum", "-cost_sum", "conversation_id")[:limit])
    names = _bot_names({row["bot_id"] for row in top})
    return [{"bot": names.get(row["bot_id"]), "conversation_id": row["conversation_id"],
             "records": int(row["records_sum"]), "total_tokens": int(row["tokens_sum"]),
             "cost": row["cost_sum"] or Decimal(0)} for row in top]


def budget_states_list(*, month: date | None = None) -> list[BotBudget]:
    """Each bot that has a monthly budget, with what it used of it this month (or `month`):
    the ones over it first, then those past their warning threshold."""
    month = month or month_start()
    with_budget = [bot for bot in Bot.objects.exclude(budget_unit="").filter(monthly_budget__isnull=False)]
    if not with_budget:
        return []
    used = {row["bot_id"]: row for row in UsageDaily.objects.filter(
        bot__in=with_budget, day__gte=month, day__lt=month_after(month),
    ).values("bot_id").annotate(tokens=Sum("total_tokens"), cost_sum=Sum("cost")).order_by()}
    budgets = []
    for bot in with_budget:
        sums = used.get(bot.pk, {})
        spent = sums.get("tokens") if bot.budget_unit == BudgetUnit.TOKENS else sums.get("cost_sum")
        budgets.append(BotBudget(bot=bot, state=BudgetState(
            unit=bot.budget_unit, budget=Decimal(bot.monthly_budget), used=Decimal(spent or 0),
            warning_percent=bot.budget_warning_percent)))
    order = {"over": 0, "warning": 1, "ok": 2}
    return sorted(budgets, key=lambda entry: (order[entry.level], -entry.percent, entry.bot.name))


def budget_alerts_recent(*, month: date | None = None, limit: int = RECENT_ALERTS) -> list[BudgetAlert]:
    """This month's budget alerts (the ones still in force), newest first; a bot over its budget
    shows that alert alone, not the warning that came before it."""
    month = month or month_start()
    alerts = BudgetAlert.objects.filter(month=month).select_related("bot").order_by("-created_at")
    exceeded = {alert.bot_id for alert in alerts if alert.level == BudgetAlert.Level.EXCEEDED}
    return [alert for alert in alerts
            if alert.level == BudgetAlert.Level.EXCEEDED or alert.bot_id not in exceeded][:limit]


def usage_list(*, start: date | None = None, end: date | None = None, bot: Bot | None = None,
               model: str | None = None, conversation_id: str | None = None) -> QuerySet[TokenUsage]:
    """Usage records newest first, of the days from `start` to `end` (TIME_ZONE, both included),
    of one bot, one model and/or one conversation; each filter has an index of its own."""
    records = TokenUsage.objects.select_related("bot").order_by("-occurred_at", "-id")
    if start:
        records = records.filter(occurred_at__gte=_day_start(start))
    if end:
        records = records.filter(occurred_at__lt=_day_start(end + timedelta(days=1)))
    if bot is not None:
        records = records.filter(bot=bot)
    if model:
        records = records.filter(model=model)
    if conversation_id:
        records = records.filter(conversation_id=conversation_id)
    return records


def usage_summary_get(*, start: date | None = None, end: date | None = None, bot: Bot | None = None,
                      model: str | None = None, conversation_id: str | None = None) -> dict:
    """The sums of what usage_list returns: records, tokens, cost (USD, as text) and the records
    without a price. From the rollups, except for one conversation (whose records the
    conversation index finds)."""
    if conversation_id:
        records = usage_list(start=start, end=end, bot=bot, model=model, conversation_id=conversation_id)
        sums = records.order_by().aggregate(
            records=Count("id"), unpriced_records=Count("id", filter=Q(cost__isnull=True)),
            **{name: Sum(name) for name in TOKEN_SUMS if name not in ("records", "unpriced_records")},
            cost_sum=Sum("cost"))
        sums["cost"] = sums.pop("cost_sum")
    else:
        sums = usage_daily_rows(start=start, end=end, bot=bot, model=model).aggregate(**_sum_expressions())
    totals = _sums(sums)
    return {**totals, "cost": f"{totals['cost'].quantize(Decimal('0.000001'))}"}


def intake_counts_by_bot() -> list[dict]:
    """What became of everything each bot sent, events and usage ({stream: {outcome: n}}), for
    every bot that sent anything, the ones with refusals or keyless items first."""
    counts: dict[int, dict] = {}
    for row in IntakeTally.objects.values("bot_id", "stream", "outcome").annotate(n=Sum("count")).order_by():
        per_stream = counts.setdefault(row["bot_id"], {
            stream: {outcome: 0 for outcome in IntakeTally.Outcome.values} for stream in IntakeTally.Stream.values})
        per_stream[row["stream"]][row["outcome"]] = int(row["n"])
    bots = Bot.objects.in_bulk(list(counts))
    rows = []
    for pk, per_stream in counts.items():
        flagged = any(per_stream[stream][outcome] for stream in per_stream
                      for outcome in (IntakeTally.Outcome.REJECTED, IntakeTally.Outcome.UNKEYED))
        rows.append({"bot": bots[pk], "flagged": flagged, **per_stream,
                     "streams": [per_stream[IntakeTally.Stream.EVENTS], per_stream[IntakeTally.Stream.USAGE]]})
    return sorted(rows, key=lambda row: (not row["flagged"], row["bot"].name))


def _sum_expressions() -> dict:
    return {**{name: Sum(name) for name in TOKEN_SUMS}, "cost": Sum("cost")}


def _sums(sums: dict) -> dict:
    totals = {name: int(sums.get(name) or 0) for name in TOKEN_SUMS}
    totals["cost"] = sums.get("cost") or Decimal(0)
    return totals


def _per_day(rows: QuerySet[UsageDaily], *, start: date, end: date) -> list[dict]:
    by_day = {row["day"]: row for row in rows.values("day").annotate(
        records_sum=Sum("records"), tokens=Sum("total_tokens"), cost_sum=Sum("cost"),
        unpriced=Sum("unpriced_records")).order_by()}
    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        row = by_day.get(day, {})
        days.append({"day": day, "records": int(row.get("records_sum") or 0),
                     "total_tokens": int(row.get("tokens") or 0), "cost": row.get("cost_sum") or Decimal(0),
                     "unpriced_records": int(row.get("unpriced") or 0)})
    return days


def _per_bot(rows: QuerySet[UsageDaily]) -> list[dict]:
    grouped = list(rows.values("bot_id").annotate(**_grouped_sums()).order_by("-tokens_sum"))
    names = _bot_names({row["bot_id"] for row in grouped})
    return [{"bot": names.get(row["bot_id"]), **_grouped(row)} for row in grouped]


def _per_model(rows: QuerySet[UsageDaily]) -> list[dict]:
    grouped = rows.values("model").annotate(**_grouped_sums()).order_by("-tokens_sum", "model")
    return [{"model": row["model"], **_grouped(row)} for row in grouped]


def _grouped_sums() -> dict:
    # Annotations may not take the names of the fields they sum.
    return {"records_sum": Sum("records"), "prompt_sum": Sum("prompt_tokens"),
            "completion_sum": Sum("completion_tokens"), "cached_sum": Sum("cached_tokens"),
            "tokens_sum": Sum("total_tokens"), "cost_sum": Sum("cost"),
            "unpriced_sum": Sum("unpriced_records")}


def _grouped(row: dict) -> dict:
    return {"records": int(row["records_sum"] or 0), "prompt_tokens": int(row["prompt_sum"] or 0),
            "completion_tokens": int(row["completion_sum"] or 0), "cached_tokens": int(row["cached_sum"] or 0),
            "total_tokens": int(row["tokens_sum"] or 0), "cost": row["cost_sum"] or Decimal(0),
            "unpriced_records": int(row["unpriced_sum"] or 0)}


def _bot_names(pks: set[int]) -> dict[int, Bot]:
    return Bot.objects.in_bulk(list(pks)) if pks else {}


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
