"""Usage records as CSV, for spreadsheets: one line per LLM call, in the jobs export's format
(semicolons, a byte order mark, local times) so that both open the same way.

A million records must stream, not wait: the records are read in chunks that each continue
after the last record sent (keyset, on the index of occurred_at), because a server-side cursor
outside a transaction is materialised whole by PostgreSQL before its first row; and under ASGI
the lines come from an async iterator, since Django reads a synchronous one to its end before
sending anything.
"""

import csv
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Bot, TokenUsage
from jobs.exports import FORMULA_STARTS

COLUMNS = (
    "ocorrido_em", "bot_id", "bot", "modelo", "tokens_entrada", "tokens_em_cache", "tokens_saida",
    "tokens_raciocinio", "total_tokens", "custo_usd", "com_preco", "conversa", "request_id", "recebido_em",
)
CHUNK = 2000


def usage_csv_rows(records: QuerySet[TokenUsage]) -> Iterator[str]:
    """The lines of the CSV file, header first; `records` newest first (selectors.usage_list).

    The cost is written with a decimal comma, as spreadsheets set to Portuguese read numbers; an
    unpriced record has an empty cost and com_preco "não", never a zero.
    """
    writer = csv.writer(_Line(), delimiter=";")
    yield "\ufeff" + writer.writerow(COLUMNS)
    bots: dict[int, Bot] = {}
    for chunk in _chunks(records):
        yield _lines(writer, chunk, bots)


async def usage_csv_rows_async(records: QuerySet[TokenUsage]) -> AsyncIterator[str]:
    """usage_csv_rows for an ASGI response: each chunk is read in the thread of the ORM."""
    writer = csv.writer(_Line(), delimiter=";")
    yield "\ufeff" + writer.writerow(COLUMNS)
    bots: dict[int, Bot] = {}
    chunks = _chunks(records)
    while (chunk := await sync_to_async(next)(chunks, None)) is not None:
        yield await sync_to_async(_lines)(writer, chunk, bots)


def _chunks(records: QuerySet[TokenUsage]) -> Iterator[list[TokenUsage]]:
    records = records.select_related(None).order_by("-occurred_at", "-id")
    last = None
    while True:
        page = records
        if last is not None:
            page = page.filter(Q(occurred_at__lte=last.occurred_at),
                               Q(occurred_at__lt=last.occurred_at) | Q(id__lt=last.id))
        chunk = list(page[:CHUNK])
        if chunk:
            yield chunk
        if len(chunk) < CHUNK:
            return
        last = chunk[-1]


def _lines(writer, chunk: list[TokenUsage], bots: dict[int, Bot]) -> str:
    missing = {usage.bot_id for usage in chunk} - set(bots)
    if missing:
        bots.update(Bot.objects.in_bulk(list(missing)))
    return "".join(writer.writerow([_cell(value) for value in _values(usage, bots[usage.bot_id])]) for usage in chunk)


def _values(usage: TokenUsage, bot: Bot) -> tuple:
    return (
        _when(usage.occurred_at), bot.bot_id, bot.name, usage.model, usage.prompt_tokens, usage.cached_tokens,
        usage.completion_tokens, usage.reasoning_tokens, usage.total_tokens, _cost(usage.cost),
        "sim" if usage.cost is not None else "não", usage.conversation_id, usage.request_id, _when(usage.received_at),
    )


def _cell(value: object) -> object:
    """A text a spreadsheet would run as a formula (CSV injection) is written as text instead."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cost(cost: Decimal | None) -> str | None:
    if cost is None:
        return None
    return f"{cost.normalize():f}".replace(".", ",")


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds")


class _Line:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, text: str) -> str:
        return text
