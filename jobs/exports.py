"""The jobs list as CSV, for spreadsheets: what the page shows and filters, never a secret."""

from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from jobs.models import Job
from project.spreadsheets import BYTE_ORDER_MARK, csv_line_writer, local_time, spreadsheet_cell

COLUMNS = (
    "job_id", "operadora", "status", "progresso", "categoria_falha", "erro", "filtro", "cnpj", "processo_id",
    "resultado", "criado_em", "iniciado_em", "concluido_em", "criado_por",
)


def jobs_csv_rows(jobs: QuerySet[Job]) -> Iterator[str]:
    """The lines of the CSV file, header first, streamed from the database in chunks.

    Semicolon-separated with a byte order mark: what spreadsheets set to Portuguese open
    directly into columns.
    """
    writer = csv_line_writer()
    yield BYTE_ORDER_MARK + writer.writerow(COLUMNS)
    for job in jobs.select_related("owner").iterator(chunk_size=500):
        yield writer.writerow([spreadsheet_cell(value) for value in _values(job)])


def _values(job: Job) -> Iterable[object]:
    params = job.params or {}
    return (
        job.id, job.kind, job.status, job.progress, job.error_category, job.error, params.get("filtro"),
        params.get("cnpj"), job.processo_id, job.result, local_time(job.created_at), local_time(job.started_at),
        local_time(job.completed_at), job.owner.get_username() if job.owner else None,
    )
