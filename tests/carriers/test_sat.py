"""SAT through the whole engine: POST /executar/sat → worker → the SAT sandbox → GET /status.

Each class runs its own workers, so that the deliveries (SAT_DELIVERY) and the SAT credentials
(SAT_API_PASSWORD) of the workers are the ones its tests are about.
"""

import json
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from carriers.sandbox.common import DEMO_CNPJ, Invoice, invoice_pdf
from jobs.models import Job
from jobs.services import lifecycle
from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import artifacts
from tests.conftest import WorkerProcesses
from tests.jobs.helpers import wait_until_finished

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

PDF = invoice_pdf(Invoice("OI", "12345678", DEMO_CNPJ, "EMPRESA EXEMPLO LTDA", "202401"))
SAT_PAYLOAD = {
    "cnpj": "12.345.678/0001-95",
    "razao": "EMPRESA EXEMPLO LTDA",
    "operadora": "OI",
    "nome_filtro": "OI FIXO",
    "unidade": "UNIDADE CENTRAL",
    "servico": "TELEFONIA",
    "dados_sat": "DADOS_SAT_EXEMPLO",
    "nome_arquivo": "fatura_oi_202401.pdf",
    "data_vencimento": "15/02/2024",
}
# The fields SAT receives exactly as the job gave them (it keeps the CNPJ as digits, and
# nome_arquivo as the file's own name).
AS_GIVEN = ("razao", "operadora", "nome_filtro", "unidade", "servico", "dados_sat", "data_vencimento")


def sat_workers(carrier_env, **env):
    workers = WorkerProcesses({**carrier_env, **env})
    workers.start(1)
    yield workers
    workers.stop_all()


@pytest.fixture(scope="class")
def browser_workers(carrier_env):
    yield from sat_workers(carrier_env, SAT_DELIVERY="browser")


@pytest.fixture(scope="class")
def api_workers(carrier_env):
    yield from sat_workers(carrier_env, SAT_DELIVERY="api")


@pytest.fixture(scope="class")
def browser_workers_wrong_password(carrier_env):
    yield from sat_workers(carrier_env, SAT_DELIVERY="browser", SAT_API_PASSWORD="errada")


@pytest.fixture(scope="class")
def api_workers_wrong_password(carrier_env):
    yield from sat_workers(carrier_env, SAT_DELIVERY="api", SAT_API_PASSWORD="errada")


def invoice_in_storage(content: bytes = PDF, folder: str = "faturas") -> str:
    """A file of its own in storage (the module's media directory), the result of a completed
    OI job, so that a SAT job may name it; returns its storage path."""
    path = default_storage.save(f"{folder}/fatura_oi_{uuid.uuid4().hex[:8]}.pdf", ContentFile(content))
    Job.objects.create(kind="OI", status=Job.Status.COMPLETED, progress=100, result=path, params={},
                       completed_at=timezone.now())
    return path


def run_sat_job(api, **overrides) -> tuple:
    response = api.post("/executar/sat", {**SAT_PAYLOAD, **overrides}, format="json")
    assert response.status_code == 200, response.content
    job_id = response.json()["job_id"]
    job = wait_until_finished(job_id, timeout=90)
    return job, api.get(f"/status/{job_id}").json()


def run_sat_job_whose_file_went_away(api, owner, nome_arquivo: str) -> tuple:
    """A SAT job for a file that is not in storage (anymore) when the job runs; the routes
    refuse such a file at creation, so the job is created below them."""
    job = lifecycle.job_create(kind="SAT", params={**SAT_PAYLOAD, "nome_arquivo": nome_arquivo}, secrets={},
                               owner=owner)
    job = wait_until_finished(job.id, timeout=90)
    return job, api.get(f"/status/{job.id}").json()


def sat_received(result: str) -> tuple[dict, bytes]:
    """What the SAT sandbox kept for the protocol named in a job's result."""
    protocolo = result.split()[2]
    with default_storage.open(f"sandbox/sat/{protocolo}.json", "rb") as stored:
        received = json.loads(stored.read())
    with default_storage.open(received["arquivo"], "rb") as stored:
        return received, stored.read()


def messages(status: dict) -> list[str]:
    return [log["message"] for log in status["logs"]]


def assert_delivered(status: dict, name: str) -> dict:
    assert status["status"] == "COMPLETED", status
    assert status["result"].startswith("SAT protocolo SAT-") and status["result"].endswith(f" ({name})")
    received, content = sat_received(status["result"])
    assert content == PDF  # byte for byte
    assert received["nome_arquivo"] == name and received["cnpj"] == "12345678000195"
    assert {k: received[k] for k in AS_GIVEN} == {k: SAT_PAYLOAD[k] for k in AS_GIVEN}
    assert status["progress"] == 100
    assert not any("sandbox123" in m for m in messages(status))
    return received


class TestDeliveryThroughThePortal:
    def test_it_uploads_the_invoice_through_the_sat_portal(self, browser_workers, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert_delivered(status, name)
        logged = messages(status)
        assert f"Fatura {name} lida do armazenamento ({len(PDF)} bytes)" in logged
        assert "Acessando o portal do SAT" in logged
        assert "Login realizado no portal do SAT" in logged
        assert f"Formulário de envio preenchido com a fatura {name}" in logged
        assert any(m.startswith("Protocolo SAT-") and m.endswith("emitido pelo portal do SAT") for m in logged)
        assert not artifacts(job)

    def test_a_storage_path_in_nome_arquivo_is_taken_as_it_is(self, browser_workers, alice_api):
        path = invoice_in_storage(folder="faturas/2024")

        _, status = run_sat_job(alice_api, nome_arquivo=path)

        assert_delivered(status, path.rsplit("/", 1)[1])

    def test_a_missing_file_fails_as_file_processing_naming_the_file(self, browser_workers, alice, alice_api):
        job, status = run_sat_job_whose_file_went_away(alice_api, alice, "fatura_inexistente.pdf")

        assert status["status"] == "FAILED"
        assert job.error_category == "file"
        assert status["error"] == (
            "Arquivo fatura_inexistente.pdf não encontrado no armazenamento (faturas/fatura_inexistente.pdf): "
            "baixe a fatura da operadora antes de enviá-la ao SAT."
        )

    def test_a_file_the_portal_refuses_fails_as_file_processing_with_evidence(self, browser_workers, alice_api):
        name = invoice_in_storage(b"<html><body>Erro interno do portal</body></html>").rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert status["status"] == "FAILED"
        assert job.error_category == "file"
        assert status["error"] == f"O SAT recusou o envio de {name}: Fatura (PDF): O arquivo enviado não é um PDF."
        kept = artifacts(job)
        assert kept["falha_tela.png"].startswith(b"\x89PNG")
        assert "O envio não foi aceito" in kept["falha_pagina.html"].decode()

    def test_an_operadora_the_portal_does_not_offer_fails_as_navigation(self, browser_workers, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name, operadora="TIM")

        assert status["status"] == "FAILED"
        assert job.error_category == "navigation"
        assert status["error"] == "A operadora TIM não está entre as opções do portal do SAT."

    def test_a_receipt_that_never_comes_fails_as_a_timeout_with_evidence(self, browser_workers, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name, nome_filtro="99999999")

        assert status["status"] == "FAILED"
        assert job.error_category == "timeout"
        assert status["error"].startswith("Tempo esgotado esperando o portal do SAT")
        assert "Documento em processamento" in artifacts(job)["falha_pagina.html"].decode()

    def test_no_browser_process_outlives_the_jobs(self, browser_workers, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]
        run_sat_job(alice_api, nome_arquivo=name)
        assert browser_processes() == []


class TestDeliveryThroughTheApi:
    def test_it_posts_the_invoice_to_the_sat_api(self, api_workers, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert_delivered(status, name)
        logged = messages(status)
        assert "Conectando à API do SAT" in logged
        assert "Autenticado na API do SAT" in logged
        assert f"Enviando a fatura {name} à API do SAT" in logged
        assert any(m.startswith("Protocolo SAT-") and m.endswith("emitido pela API do SAT") for m in logged)
        assert "Acessando o portal do SAT" not in logged
        assert not artifacts(job)

    def test_a_missing_file_fails_before_anything_is_sent(self, api_workers, alice, alice_api):
        job, status = run_sat_job_whose_file_went_away(alice_api, alice, "faturas/nao_existe.pdf")

        assert status["status"] == "FAILED"
        assert job.error_category == "file"
        assert status["error"].startswith("Arquivo faturas/nao_existe.pdf não encontrado no armazenamento")
        assert "Conectando à API do SAT" not in messages(status)

    def test_a_file_the_api_refuses_fails_as_file_processing(self, api_workers, alice_api):
        name = invoice_in_storage(b"not a pdf at all").rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert status["status"] == "FAILED"
        assert job.error_category == "file"
        assert status["error"] == f"O SAT recusou o envio de {name}: O arquivo enviado não é um PDF."


class TestAWrongSatPassword:
    def test_the_portal_refuses_the_login(self, browser_workers_wrong_password, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert status["status"] == "FAILED"
        assert job.error_category == "auth"
        assert status["error"] == "Falha de autenticação no portal do SAT: Usuário ou senha inválidos."
        kept = artifacts(job)
        assert b"errada" not in kept["falha_pagina.html"]
        assert not any("errada" in m for m in messages(status))


class TestAWrongSatApiPassword:
    def test_the_api_refuses_the_login_and_nothing_is_sent(self, api_workers_wrong_password, alice_api):
        name = invoice_in_storage().rsplit("/", 1)[1]

        job, status = run_sat_job(alice_api, nome_arquivo=name)

        assert status["status"] == "FAILED"
        assert job.error_category == "auth"
        assert status["error"] == (
            "Falha de autenticação na API do SAT: usuário sat-integracao ou senha recusados (HTTP 401)."
        )
        assert f"Envio da fatura {name} cancelado: a API do SAT recusou a autenticação" in messages(status)
        assert not any("errada" in m for m in messages(status))
        sent = default_storage.listdir("sandbox/sat")[1] if default_storage.exists("sandbox/sat") else []
        assert not any(n.endswith(name) for n in sent)
