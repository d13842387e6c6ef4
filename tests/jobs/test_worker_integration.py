"""The engine end to end: HTTP → PostgreSQL → Redis → a real rq worker → HTTP."""


import pytest

from jobs.models import JobStatus
from tests.jobs.helpers import JobEvents, carrier_payload, invoice_downloaded_by, wait_until_finished

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_job_runs_end_to_end_through_the_seed_routes(module_workers, alice_api):
    response = alice_api.post("/executar/OI", carrier_payload("sleep:0.5;progress:60;log:Baixando fatura;sleep:0.5"),
                              format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "PENDING"
    assert body["message"] == "Job criado para operadora OI"
    assert body["status_url"] == f"/status/{body['job_id']}"

    events = JobEvents(body["job_id"])
    seen_statuses = [alice_api.get(body["status_url"]).json()["status"]]
    updates = events.collect_until_finished()
    final = alice_api.get(body["status_url"]).json()

    statuses = [e["data"]["status"] for e in updates if e["type"] == "job.update"]
    progress = [e["data"]["progress"] for e in updates if e["type"] == "job.update"]
    assert seen_statuses[0] in ("PENDING", "RUNNING")
    assert _dedupe(statuses) == ["RUNNING", "COMPLETED"]
    # Updates within 0.1 s of each other are coalesced to the newest (project/live.py); the ones
    # half a second apart all arrive.
    assert progress == sorted(progress)
    assert {30, 60, 100} <= set(progress) <= {0, 30, 60, 90, 95, 100}
    assert final["status"] == "COMPLETED"
    assert final["progress"] == 100
    assert final["result"] == "faturas/oi_202401.pdf"
    assert final["error"] is None
    assert final["started_at"] and final["completed_at"]
    messages = [log["message"] for log in final["logs"]]
    assert messages[:2] == ["Iniciando processamento da operadora OI", "Executando RPA para OI"]
    assert "Baixando fatura" in messages
    assert messages[-1] == "Job concluído com sucesso"


def test_a_failing_automation_ends_the_job_failed_with_its_sentence(module_workers, alice_api):
    job_id = alice_api.post("/executar/VIVO", carrier_payload("fail:auth"), format="json").json()["job_id"]
    job = wait_until_finished(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == "Falha de autenticação na operadora VIVO"
    assert job.error_category == "auth"
    assert job.result is None


def test_a_crash_never_shows_its_details_or_the_password(module_workers, alice_api):
    job_id = alice_api.post("/executar/OI", carrier_payload("leak;crash"), format="json").json()["job_id"]
    wait_until_finished(job_id)
    status = alice_api.get(f"/status/{job_id}").json()
    assert status["status"] == "FAILED"
    assert status["error"] == "Erro inesperado durante a automação."
    text = str(status)
    assert "sandbox123" not in text
    assert "cliente@empresa.com.br" not in text
    assert any("tentando login *** com senha ***" == log["message"] for log in status["logs"])


def test_sat_jobs_run_through_the_same_engine(module_workers, alice, alice_api):
    invoice_downloaded_by(alice, "fatura_oi_202401.pdf")
    payload = {
        "cnpj": "12.345.678/0001-95", "razao": "EMPRESA EXEMPLO LTDA", "operadora": "OI",
        "nome_filtro": "OI FIXO", "unidade": "UNIDADE CENTRAL", "servico": "TELEFONIA",
        "dados_sat": "DADOS", "nome_arquivo": "fatura_oi_202401.pdf", "data_vencimento": "15/01/2024",
    }
    body = alice_api.post("/executar/sat", payload, format="json").json()
    assert body["message"] == "Job criado para SAT"
    job = wait_until_finished(body["job_id"])
    assert job.status == JobStatus.COMPLETED
    assert job.kind == "SAT"


def _dedupe(values: list) -> list:
    return [v for i, v in enumerate(values) if i == 0 or v != values[i - 1]]
