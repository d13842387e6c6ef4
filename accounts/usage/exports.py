"""Usage records as CSV, for spreadsheets: one line per LLM call, in the jobs export's format
(semicolons, a byte order mark, local times) so that both open the same way."""

import csv
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import TokenUsage
from jobs.exports import FORMULA_STARTS

COLUMNS = (
    "ocorrido_em", "bot_id", "bot", "modelo", "tokens_entrada", "tokens_em_cache", "tokens_saida",
    "tokens_raciocinio", "total_tokens", "custo_usd", "com_preco", "conversa", "request_id", "recebido_em",
)


def usage_csv_rows(records: QuerySet[TokenUsage]) -> Iterator[str]:
    """The lines of the CSV file, header first, read from the database in chunks as they are sent.

    The cost is written with a decimal comma, as spreadsheets set to Portuguese read numbers; an
    unpriced record has an empty cost and com_preco "não", never a zero.
    """
    writer = csv.writer(_Line(), delimiter=";")
    yield "\ufeff" + writer.writerow(COLUMNS)
    for usage in records.select_related("bot").iterator(chunk_size=2000):
        yield writer.writerow([_cell(value) for value in (
            _when(usage.occurred_at), usage.bot.bot_id, usage.bot.name, usage.model, usage.prompt_tokens,
            usage.cached_tokens, usage.completion_tokens, usage.reasoning_tokens, usage.total_tokens,
            _cost(usage.cost), "sim" if usage.cost is not None else "não", usage.conversation_id,
            usage.request_id, _when(usage.received_at),
        )])


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
