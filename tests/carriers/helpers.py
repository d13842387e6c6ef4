"""Running one carrier job through the API and reading back what it left."""

from django.core.files.storage import default_storage

from jobs.models import Job
from tests.jobs.helpers import wait_until_finished

DEMO = {"login": "cliente@empresa.com.br", "senha": "sandbox123", "filtro": "12345678", "cnpj": "12.345.678/0001-95"}


def run_carrier_job(api, carrier: str, timeout: float = 90, **overrides) -> tuple[Job, dict]:
    """POST /executar/<carrier>, wait for the worker, return the row and GET /status's body."""
    response = api.post(f"/executar/{carrier}", {**DEMO, **overrides}, format="json")
    assert response.status_code == 200, response.content
    job_id = response.json()["job_id"]
    job = wait_until_finished(job_id, timeout=timeout)
    status = api.get(f"/status/{job_id}").json()
    return job, status


def stored_pdf(path: str) -> bytes:
    with default_storage.open(path, "rb") as stored:
        return stored.read()


def artifacts(job: Job) -> dict[str, bytes]:
    """The job's kept files by name (e.g. falha_tela.png, falha_pagina.html)."""
    kept = {}
    for artifact in job.artifacts.all():
        with artifact.file.open("rb") as stored:
            kept[artifact.name] = stored.read()
    return kept
