"""The verbs of metering: record token usage (one record or a batch, idempotent), and recompute
the costs of a period after a price was corrected."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateField, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Bot, IntakeTally, TokenUsage, UsageConversationDaily, UsageDaily
from accounts.tallies import intake_tally
from accounts.usage import budgets
from accounts.usage.prices import PriceBook, usage_cost
from accounts.usage.validation import CleanRecord, RecordInvalid, usage_record_clean
from project import intake
from project.intake import ACCEPTED, DUPLICATE, REJECTED, ItemResult

logger = logging.getLogger(__name__)

ROLLUP_SUMS = ("records", "prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens",
               "total_tokens", "cost", "unpriced_records")
CONVERSATION_SUMS = ("records", "total_tokens", "cost")


@dataclass
class UsageOutcome:
    results: list[ItemResult]
    budget: budgets.BudgetState | None


class KeyMismatch(ValueError):
    """The Idempotency-Key header and the body's request_id name different keys."""


def usage_record_many(*, bot: Bot, items: list[Any], idempotency_key: str | None = None,
                      single: bool = False) -> UsageOutcome:
    """Record each item of `items` for `bot`, once per idempotency key, and say what became of each.

    An item's key is its `request_id`; with `idempotency_key` (the request's Idempotency-Key
    header) a `single` record (the one-record route) takes it as its key, and the items of a batch
    (even a batch of one) that have none take `<key>:<position>`, so a retried keyless batch is
    still counted once. A key already stored with the same record is a `duplicate` (nothing is
    counted); with another record it is refused as a `conflict`. Costs use the price in force at
    each record's `occurred_at`.
    """
    now = timezone.now()
    results: list[ItemResult | None] = [None] * len(items)
    pending: list[tuple[int, CleanRecord, str]] = []  # position, record, fingerprint
    first_of_key: dict[str, int] = {}
    for position, item in enumerate(items):
        try:
            record = usage_record_clean(item, now=now)
            record.request_id = _key_for(record.request_id, idempotency_key, position, single=single)
        except RecordInvalid as invalid:
            results[position] = _rejected(position, item, "invalid", str(invalid), invalid.errors)
            continue
        except KeyMismatch as mismatch:
            results[position] = _rejected(position, item, "invalid", str(mismatch),
                                          {"request_id": [str(mismatch)]})
            continue
        fingerprint = intake.fingerprint(record.signature())
        if record.request_id is not None and record.request_id in first_of_key:
            # The same key twice in one request: the first one decides.
            pending.append((position, record, fingerprint))
            continue
        if record.request_id is not None:
            first_of_key[record.request_id] = position
        pending.append((position, record, fingerprint))

    book = PriceBook.for_models({record.model for _, record, _ in pending})
    with transaction.atomic():
        stored = _store(bot=bot, pending=pending, book=book, received_at=now, results=results)
        _rollups_add(bot=bot, rows=stored)
        state = budgets.budget_check(bot=bot) if stored else budgets.budget_state(bot=bot)
        _tally(bot=bot, results=results, unkeyed=sum(1 for row in stored if row["request_id"] is None), day=now)
    return UsageOutcome(results=results, budget=state)


def usage_costs_recompute(*, start: datetime, end: datetime, models: list[str] | None = None) -> int:
    """Price again every record that occurred in [start, end) (of `models`, or all), with the
    prices in force now, and rebuild the daily sums of the days touched; return how many records
    changed. For after a price was added or corrected."""
    records = TokenUsage.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    if models:
        records = records.filter(model__in=models)
    # order_by(): the model's default ordering would make DISTINCT run over (model, occurred_at).
    book = PriceBook.for_models(records.order_by().values_list("model", flat=True).distinct())
    changed: list[TokenUsage] = []
    days: set[date] = set()
    fields = ("id", "model", "occurred_at", "prompt_tokens", "completion_tokens", "cached_tokens",
              "reasoning_tokens", "cost", "price_id")
    with transaction.atomic():
        for usage in records.only(*fields).iterator(chunk_size=2000):
            price = book.at(usage.model, usage.occurred_at)
            cost = None if price is None else usage_cost(
                price, prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                cached_tokens=usage.cached_tokens, reasoning_tokens=usage.reasoning_tokens)
            if cost != usage.cost or (price and price.pk) != usage.price_id:
                usage.cost, usage.price_id = cost, price.pk if price else None
                changed.append(usage)
                days.add(timezone.localdate(usage.occurred_at))
        _costs_save(changed)
        for day in sorted(days):
            usage_rollups_rebuild(day=day)
    logger.info("recomputed the cost of %s usage records between %s and %s", len(changed), start, end)
    return len(changed)


def usage_rollups_rebuild(*, day: date) -> None:
    """Sum again, from the records, the daily rows of one day (in TIME_ZONE). The sums go from
    the records to the rollups inside the database (INSERT … SELECT): a day may hold tens of
    thousands of conversations, too many to pass through Python objects."""
    start = timezone.make_aware(datetime.combine(day, datetime.min.time()))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), datetime.min.time()))
    records = TokenUsage.objects.filter(occurred_at__gte=start, occurred_at__lt=end).order_by()
    UsageDaily.objects.filter(day=day).delete()
    UsageConversationDaily.objects.filter(day=day).delete()
    cost = Coalesce(Sum("cost"), Value(Decimal(0)), output_field=DecimalField(max_digits=32, decimal_places=10))
    # Annotations are named apart from TokenUsage's fields: a filter on `cost` would read one named so.
    _insert_select(UsageDaily, ROLLUP_COLUMNS, records.values("bot_id", "model").annotate(
        day_=Value(day, output_field=DateField()), records_=Count("id"), prompt=Sum("prompt_tokens"),
        completion=Sum("completion_tokens"), cached=Sum("cached_tokens"), reasoning=Sum("reasoning_tokens"),
        total=Sum("total_tokens"), cost_sum=cost, unpriced=Count("id", filter=Q(cost__isnull=True)),
    ))
    _insert_select(UsageConversationDaily, CONVERSATION_COLUMNS,
                   records.exclude(conversation_id="").values("bot_id", "conversation_id").annotate(
                       day_=Value(day, output_field=DateField()), records_=Count("id"), total=Sum("total_tokens"),
                       cost_sum=cost,
                   ))


# --- helpers --------------------------------------------------------------------------------------

ROLLUP_COLUMNS = ("bot", "model", "day", *ROLLUP_SUMS)
CONVERSATION_COLUMNS = ("bot", "conversation_id", "day", *CONVERSATION_SUMS)


def _insert_select(model, fields: tuple[str, ...], rows: QuerySet) -> None:
    """INSERT INTO `model` (`fields`) the rows `rows` selects: its values() columns, then its
    annotations, in the order of `fields`."""
    sql, params = rows.query.sql_with_params()
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) {sql}", params)


def _costs_save(changed: list[TokenUsage]) -> None:
    """Write the new cost and price of each record: on PostgreSQL one UPDATE from arrays per
    10,000 records (bulk_update's CASE per row takes Django seconds per thousand)."""
    if connection.vendor != "postgresql":
        TokenUsage.objects.bulk_update(changed, ["cost", "price_id"], batch_size=500)
        return
    table = connection.ops.quote_name(TokenUsage._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(changed), 10_000):
            chunk = changed[start:start + 10_000]
            cursor.execute(
                f"UPDATE {table} AS t SET cost = v.cost, price_id = v.price_id "
                "FROM unnest(%s::bigint[], %s::numeric[], %s::bigint[]) AS v(id, cost, price_id) WHERE t.id = v.id",
                [[u.pk for u in chunk], [u.cost for u in chunk], [u.price_id for u in chunk]],
            )

def _key_for(request_id: str | None, header: str | None, position: int, *, single: bool) -> str | None:
    if not header:
        return request_id
    if single:
        if request_id is not None and request_id != header:
            raise KeyMismatch("O cabeçalho Idempotency-Key e o request_id do corpo são diferentes: "
                              "envie um só, ou o mesmo valor nos dois.")
        return header
    return request_id if request_id is not None else f"{header}:{position}"


def _store(*, bot: Bot, pending, book: PriceBook, received_at: datetime, results: list) -> list[dict]:
    rows = []
    for position, record, fingerprint in pending:
        price = book.at(record.model, record.occurred_at)
        cost = None if price is None else usage_cost(
            price, prompt_tokens=record.prompt_tokens, completion_tokens=record.completion_tokens,
            cached_tokens=record.cached_tokens, reasoning_tokens=record.reasoning_tokens)
        rows.append({
            "bot_id": bot.pk, "model": record.model, "prompt_tokens": record.prompt_tokens,
            "completion_tokens": record.completion_tokens, "total_tokens": record.total_tokens,
            "cached_tokens": record.cached_tokens, "reasoning_tokens": record.reasoning_tokens,
            "request_id": record.request_id, "fingerprint": fingerprint, "conversation_id": record.conversation_id,
            "occurred_at": record.occurred_at, "received_at": received_at, "metadata": record.metadata,
            "cost": cost, "price_id": price.pk if price else None,
            "_position": position,
        })
    inserted = intake.insert_new(TokenUsage, rows, scope_field="bot", key_field="request_id")
    stored = []
    missing: dict[str, list[dict]] = defaultdict(list)
    for index, row in enumerate(rows):
        if index in inserted:
            row["id"] = inserted[index]
            stored.append(row)
            results[row["_position"]] = _accepted(row, ACCEPTED, row["_position"])
        else:
            missing[row["request_id"]].append(row)
    if missing:
        existing = {
            usage["request_id"]: usage for usage in TokenUsage.objects.filter(
                bot=bot, request_id__in=list(missing)).values("id", "request_id", "fingerprint", "cost", "price_id",
                                                               "model", "total_tokens", "occurred_at")
        }
        for key, repeats in missing.items():
            first = existing.get(key)
            for row in repeats:
                if first is not None and first["fingerprint"] == row["fingerprint"]:
                    results[row["_position"]] = _accepted(first, DUPLICATE, row["_position"])
                else:
                    results[row["_position"]] = _rejected(
                        row["_position"], None, "conflict",
                        f"O request_id {key!r} já foi usado por este bot para outro registro: "
                        "um retry deve repetir o mesmo corpo; um registro novo precisa de outro request_id.",
                        {"request_id": ["já usado para outro registro"]}, key=key)
    return stored


def _accepted(row: dict, status: str, position: int) -> ItemResult:
    cost = row["cost"]
    return ItemResult(index=position, status=status, key=row["request_id"], id=row["id"], extra={
        "model": row["model"], "total_tokens": row["total_tokens"],
        "cost": None if cost is None else f"{Decimal(cost):.10f}", "priced": cost is not None,
    })


def _rejected(position: int, item: Any, reason: str, message: str, errors: dict, key: str | None = None) -> ItemResult:
    if key is None and isinstance(item, dict) and isinstance(item.get("request_id"), str):
        key = item["request_id"][:200]
    return ItemResult(index=position, status=REJECTED, key=key, reason=reason, message=message, errors=errors)


def _rollups_add(*, bot: Bot, rows: list[dict]) -> None:
    daily: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(ROLLUP_SUMS, 0))
    conversations: dict[tuple, dict] = defaultdict(lambda: dict.fromkeys(CONVERSATION_SUMS, 0))
    zone = timezone.get_current_timezone()  # once: each look-up goes through a context-local
    for row in rows:
        day = row["occurred_at"].astimezone(zone).date()
        sums = daily[(row["model"], day)]
        cost = row["cost"] or Decimal(0)
        sums["records"] += 1
        for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens", "total_tokens"):
            sums[name] += row[name]
        sums["cost"] += cost
        sums["unpriced_records"] += row["cost"] is None
        if row["conversation_id"]:
            conv = conversations[(row["conversation_id"], day)]
            conv["records"] += 1
            conv["total_tokens"] += row["total_tokens"]
            conv["cost"] += cost
    intake.increment(UsageDaily, [
        {"bot": bot.pk, "model": model, "day": day, **sums} for (model, day), sums in sorted(daily.items())
    ], keys=("bot", "model", "day"), sums=ROLLUP_SUMS)
    intake.increment(UsageConversationDaily, [
        {"bot": bot.pk, "conversation_id": conv, "day": day, **sums}
        for (conv, day), sums in sorted(conversations.items())
    ], keys=("bot", "conversation_id", "day"), sums=CONVERSATION_SUMS)


def _tally(*, bot: Bot, results: list[ItemResult], unkeyed: int, day: datetime) -> None:
    counts = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0, IntakeTally.Outcome.UNKEYED: unkeyed}
    for result in results:
        counts[result.status] += 1
    intake_tally(bot=bot, stream=IntakeTally.Stream.USAGE, counts=counts, day=day)

