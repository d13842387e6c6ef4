"""Five carriers at once: they run side by side, capped by RPA_MAX_CONCURRENCY, and leave no browser."""

import pytest

from carriers.sandbox.common import DEMO_CNPJ, Invoice, invoice_pdf
from jobs.models import JobStatus
from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import DEMO
from tests.conftest import WorkerProcesses
from tests.jobs.helpers import invoice_downloaded_by, max_overlap, wait_until_finished

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SAT_PAYLOAD = {
    "cnpj": "12.345.678/0001-95", "razao": "EMPRESA EXEMPLO LTDA", "operadora": "OI", "nome_filtro": "OI FIXO",
    "unidade": "UNIDADE CENTRAL", "servico": "TELEFONIA", "dados_sat": "DADOS_SAT_EXEMPLO",
    "nome_arquivo": "fatura_concorrencia_202401.pdf", "data_vencimento": "15/02/2024",
}


def test_five_carriers_at_once_run_concurrently_within_the_cap(carrier_env, alice, alice_api):
    invoice = Invoice("OI", "12345678", DEMO_CNPJ, "EMPRESA EXEMPLO LTDA", "202401")
    invoice_downloaded_by(alice, SAT_PAYLOAD["nome_arquivo"], content=invoice_pdf(invoice))
    workers = WorkerProcesses(carrier_env)
    workers.start(5, RPA_MAX_CONCURRENCY=3)
    try:
        ids = [alice_api.post(f"/executar/{carrier}", DEMO, format="json").json()["job_id"]
               for carrier in ("OI", "VIVO", "EMBRATEL", "DIGITALNET")]
        ids.append(alice_api.post("/executar/sat", SAT_PAYLOAD, format="json").json()["job_id"])
        jobs = [wait_until_finished(job_id, timeout=180) for job_id in ids]
    finally:
        workers.stop_all()

    assert [job.status for job in jobs] == [JobStatus.COMPLETED] * 5, [(j.kind, j.error) for j in jobs]
    assert 2 <= max_overlap(jobs) <= 3
    assert browser_processes() == []
