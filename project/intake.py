"""One idempotent intake for what outside programs send us in records: LLM token usage and bot
events today, chat webhooks next.

Each of them needs the same few things, and they live here once:

- a dedupe key with a unique constraint behind it (`insert_new`): a record whose key is already
  stored is not stored again, however many retries race each other, and the stored row's
  fingerprint tells a retry (same body: `duplicate`, the first answer again) from a reuse of the
  key for something else (`conflict`, 409 as Stripe answers it);
- batches with results per item, in request order (`batch_items`, `ItemResult`,
  `batch_http_status`): 200 when every item was accepted or was a duplicate, 207 when some were
  refused, 422 when all were, so a client resends only what failed;
- limits that name themselves (`IntakeError`, 413), and counters kept with upserts
  (`increment`), so that totals stay right under concurrent requests.
"""

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


class IntakeError(Exception):
    """The request as a whole cannot be taken (a limit passed, not a list): nothing was stored."""

    def __init__(self, message: str, *, status: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


@dataclass
class ItemResult:
    """What became of one item of a request. `errors` names each field that was wrong."""

    index: int
    status: str
    key: str | None = None
    id: int | None = None
    reason: str | None = None  # when rejected: invalid | conflict | too_large
    message: str | None = None
    errors: dict[str, list[str]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict:
        body: dict[str, Any] = {"index": self.index, "status": self.status}
        if self.key is not None:
            body["key"] = self.key
        if self.id is not None:
            body["id"] = self.id
        if self.reason:
            body["reason"] = self.reason
        if self.message:
            body["message"] = self.message
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


def batch_items(data: Any, *, wrapper: str, max_items: int, noun: str) -> list:
    """The items of a batch body: a JSON array, or an object holding one under `wrapper`."""
    if isinstance(data, dict) and set(data) == {wrapper}:
        data = data[wrapper]
    if not isinstance(data, list):
        raise IntakeError(f'Envie uma lista JSON de {noun}, ou um objeto {{"{wrapper}": [...]}}.',
                          code="not_a_list")
    if not data:
        raise IntakeError(f"O lote está vazio: envie ao menos um item em {wrapper}.", code="empty")
    if len(data) > max_items:
        raise IntakeError(f"Lote grande demais: {len(data)} itens; o limite é de {max_items} {noun} por lote.",
                          status=413, code="too_many_items")
    return data


def batch_http_status(results: list[ItemResult]) -> int:
    refused = sum(1 for result in results if result.status == REJECTED)
    if refused == 0:
        return 200
    return 422 if refused == len(results) else 207


def batch_summary(results: list[ItemResult]) -> dict:
    counts = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0}
    for result in results:
        counts[result.status] += 1
    return {**counts, "results": [result.as_dict() for result in results]}


def fingerprint(values: dict) -> str:
    """A stable hash of what a client sent (keys in any order), to compare a retry with the first."""
    canonical = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def json_size(value: Any) -> int:
    """The size in bytes of `value` as compact JSON, the way limits on payloads are counted."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def insert_new(model: type[Model], rows: list[dict], *, scope_field: str, key_field: str) -> dict[int, int]:
    """Insert the rows whose (`scope_field`, `key_field`) is not stored yet; return the position
    in `rows` → new primary key of each row stored. A row whose key is None is always stored.

    One INSERT … ON CONFLICT DO NOTHING … RETURNING per chunk, against the model's partial unique
    constraint on the two fields (PostgreSQL and SQLite both speak it): a concurrent insert of the
    same key waits for the other transaction and then stores nothing.
    """
    if not rows:
        return {}
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    scope_column = model._meta.get_field(scope_field).column
    key_column = connection.ops.quote_name(model._meta.get_field(key_field).column)
    pk_column = connection.ops.quote_name(model._meta.pk.column)
    inserted: dict[int, int] = {}
    chunk_size = max(1, min(1000, 30000 // len(fields)))
    with _cursor() as cursor:
        for start in range(0, len(rows), chunk_size):
            chunk = rows[start:start + chunk_size]
            source, params = _rows_source(fields, chunk)
            cursor.execute(
                f"INSERT INTO {table} ({columns}) {source} "
                f"ON CONFLICT ({connection.ops.quote_name(scope_column)}, {key_column}) "
                f"WHERE {key_column} IS NOT NULL DO NOTHING RETURNING {pk_column}, {key_column}",
                params,
            )
            returned = cursor.fetchall()
            by_key = {key: pk for pk, key in returned if key is not None}
            # Keyless rows always go in, and the sequence hands out ids in the order the rows come.
            keyless_ids = iter(sorted(pk for pk, key in returned if key is None))
            for offset, row in enumerate(chunk):
                key = row.get(key_field)
                if key is None:
                    inserted[start + offset] = next(keyless_ids)
                elif key in by_key:
                    inserted[start + offset] = by_key.pop(key)
    return inserted


def increment(model: type[Model], rows: list[dict], *, keys: tuple[str, ...], sums: tuple[str, ...]) -> None:
    """Add each row's `sums` to the stored row with the same `keys`, creating it when missing:
    one INSERT … ON CONFLICT DO UPDATE, so concurrent requests never lose a count."""
    if not rows:
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    fields = [model._meta.get_field(name) for name in (*keys, *sums)]
    columns = [ops.quote_name(f.column) for f in fields]
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(row[f.name], connection) for row in rows for f in fields]
    conflict = ", ".join(ops.quote_name(model._meta.get_field(name).column) for name in keys)
    sum_columns = [ops.quote_name(model._meta.get_field(name).column) for name in sums]
    updates = ", ".join(f"{column} = {table}.{column} + excluded.{column}" for column in sum_columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([placeholder] * len(rows))} "
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}",
            params,
        )


def parse_timestamp(value: Any, *, past: timedelta, future: timedelta, now: datetime | None = None) -> datetime:
    """A moment a client reports: ISO 8601 (an offset, or this server's TIME_ZONE when it has
    none) or seconds / milliseconds since the epoch (a JavaScript Date.now()). ValueError names
    what is wrong, including a moment older than `past` or further ahead than `future`."""
    now = now or timezone.now()
    if isinstance(value, bool):
        raise ValueError("informe uma data ISO 8601 ou um número de segundos (ou milissegundos) desde 1970")
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            moment = datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("número fora do intervalo de datas") from None
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            raise ValueError("data inválida: use ISO 8601, por exemplo 2026-12-03T10:15:00-03:00")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    else:
        raise ValueError("informe uma data ISO 8601 ou um número de segundos (ou milissegundos) desde 1970")
    if moment > now + future:
        raise ValueError(f"data no futuro: no máximo {_span(future)} à frente do relógio do servidor")
    if moment < now - past:
        raise ValueError(f"data antiga demais: aceitam-se até {_span(past)} atrás")
    return moment


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400} dia(s)"
    if seconds % 60 == 0:
        return f"{seconds // 60} minuto(s)"
    return f"{seconds} s"


@contextmanager
def _cursor():
    """Django's cursor; on PostgreSQL a psycopg cursor that binds parameters on the server, in
    binary, on the same connection and transaction: Django's own cursors write every parameter
    into the statement's text, and for a batch's arrays that took longer than the insert itself.
    Errors are Django's, as with its cursors (a lost connection is a 503, not a 500)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


def _rows_source(fields, rows: list[dict]) -> tuple[str, list]:
    """The rows to insert as SQL and its parameters. On PostgreSQL one array per column, unnested,
    bound in binary: a short statement whatever the batch size (a VALUES list of a thousand rows
    is mostly spent in building and parsing its text). Elsewhere a VALUES list."""
    if connection.vendor == "postgresql":
        ops = connection.ops  # once: each look-up of `connection` goes through a context-local
        columns = []
        for f in fields:
            values = [row[f.attname] if f.attname in row else _default(f) for row in rows]
            if f.get_internal_type() == "JSONField":
                values = [None if value is None else ops.adapt_json_value(value, f.encoder) for value in values]
            columns.append(values)
        casts = ", ".join(f"%b::{f.db_type(connection)}[]" for f in fields)
        return f"SELECT * FROM unnest({casts})", columns
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    params = [f.get_db_prep_save(row.get(f.attname, _default(f)), connection) for row in rows for f in fields]
    return f"VALUES {', '.join([placeholder] * len(rows))}", params


def _default(model_field):
    return model_field.get_default() if model_field.has_default() else None
