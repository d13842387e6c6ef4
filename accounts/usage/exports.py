"""Usage records as CSV, for spreadsheets: one line per LLM call, in the jobs export's format
(semicolons, a byte order mark, local times) so that both open the same way.

A million records must stream, not wait: the records are read in chunks that each continue
after the last record sent (keyset, on the index of occurred_at), because a server-side cursor
outside a transaction is materialised whole by PostgreSQL before its first row; and under ASGI
the lines come from an async iterator, since Django reads a synchronous one to its end before
sending anything.
"""

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db.models import Q, QuerySet

from accounts.models import Bot, TokenUsage
from project.spreadsheets import BYTE_ORDER_MARK, csv_line_writer, local_time, spreadsheet_cell

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
    writer = csv_line_writer()
    yield BYTE_ORDER_MARK + writer.writerow(COLUMNS)
    bots: dict[int, Bot] = {}
    for chunk in _chunks(records):
        yield _lines(writer, chunk, bots)


async def usage_csv_rows_async(records: QuerySet[TokenUsage]) -> AsyncIterator[str]:
    """usage_csv_rows for an ASGI response: each chunk is read in the thread of the ORM."""
    writer = csv_line_writer()
    yield BYTE_ORDER_MARK + writer.writerow(COLUMNS)
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
    return "".join(writer.writerow([spreadsheet_cell(value) for value in _values(usage, bots[usage.bot_id])])
                   for usage in chunk)


def _values(usage: TokenUsage, bot: Bot) -> tuple:
    return (
        local_time(usage.occurred_at), bot.bot_id, bot.name, usage.model, usage.prompt_tokens, usage.cached_tokens,
        usage.completion_tokens, usage.reasoning_tokens, usage.total_tokens, _cost(usage.cost),
        "sim" if usage.cost is not None else "não", usage.conversation_id, usage.request_id,
        local_time(usage.received_at),
    )


def _cost(cost: Decimal | None) -> str | None:
    if cost is None:
        return None
    return f"{cost.normalize():f}".replace(".", ",")
