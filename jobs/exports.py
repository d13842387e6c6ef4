"""The jobs list as CSV, for spreadsheets: what the page shows and filters, never a secret."""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from jobs.models import Job

COLUMNS = (
    "job_id", "operadora", "status", "progresso", "categoria_falha", "erro", "filtro", "cnpj", "processo_id",
    "resultado", "criado_em", "iniciado_em", "concluido_em", "criado_por",
)
# A cell a spreadsheet would run as a formula (CSV injection): it is written as text instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def jobs_csv_rows(jobs: QuerySet[Job]) -> Iterator[str]:
    """The lines of the CSV file, header first, streamed from the database in chunks.

    Semicolon-separated with a byte order mark: what spreadsheets set to Portuguese open
    directly into columns.
    """
    writer = csv.writer(_Line(), delimiter=";")
    yield "\ufeff" + writer.writerow(COLUMNS)
    for job in jobs.select_related("owner").iterator(chunk_size=500):
        yield writer.writerow([_cell(value) for value in _values(job)])


def _values(job: Job) -> Iterable[object]:
    params = job.params or {}
    return (
        job.id, job.kind, job.status, job.progress, job.error_category, job.error, params.get("filtro"),
        params.get("cnpj"), job.processo_id, job.result, _when(job.created_at), _when(job.started_at),
        _when(job.completed_at), job.owner.get_username() if job.owner else None,
    )


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _when(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


class _Line:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, text: str) -> str:
        return text
