"""OI in real Chromium against its sandbox portal, through POST /executar → worker → GET /status."""

import pytest

from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import DEMO, artifacts, run_carrier_job, stored_pdf

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_downloads_and_stores_the_newest_invoice(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI")

    assert status["status"] == "COMPLETED", status
    assert status["result"] == "faturas/oi_202401.pdf"
    pdf = stored_pdf(status["result"])
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert b"FATURA OI" in pdf and b"Referencia: 01/2024" in pdf and b"12.345.678/0001-95" in pdf
    messages = [log["message"] for log in status["logs"]]
    assert "Acessando o portal Minha OI Empresas" in messages
    assert "Login realizado no portal da OI" in messages
    assert "Fatura 01/2024 encontrada para o contrato 12345678" in messages
    assert not any(DEMO["senha"] in m or DEMO["login"] in m for m in messages)
    assert not artifacts(job)


def test_a_cnpj_without_punctuation_finds_the_same_invoice(carrier_workers, alice_api):
    _, status = run_carrier_job(alice_api, "OI", cnpj="12345678000195")
    assert status["status"] == "COMPLETED", status
    assert status["result"].startswith("faturas/oi_202401")


def test_a_wrong_password_fails_as_authentication_with_evidence(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI", senha="errada")

    assert status["status"] == "FAILED"
    assert job.error_category == "auth"
    assert status["error"] == "Falha de autenticação no portal da OI: Senha incorreta. Verifique e tente novamente."
    kept = artifacts(job)
    assert kept["falha_tela.png"].startswith(b"\x89PNG")
    assert b"Senha incorreta" in kept["falha_pagina.html"]
    assert b"errada" not in kept["falha_pagina.html"]


def test_an_unknown_filtro_fails_saying_no_invoice_was_found(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI", filtro="00000000")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "Nenhuma fatura encontrada para o filtro 00000000 no portal da OI."


def test_a_page_that_never_loads_fails_as_a_timeout(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI", filtro="99999999")

    assert status["status"] == "FAILED"
    assert job.error_category == "timeout"
    assert status["error"].startswith("Tempo esgotado esperando o portal da OI")
    assert "falha_tela.png" in artifacts(job)


def test_a_download_that_is_not_a_pdf_fails_as_file_processing(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI", filtro="55555555")

    assert status["status"] == "FAILED"
    assert job.error_category == "file"
    assert "não é um PDF válido" in status["error"] and "o portal pode ter mudado" in status["error"]
    assert status["result"] is None


def test_a_redesigned_portal_fails_saying_the_portal_may_have_changed(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "OI", login="layout@empresa.com.br")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == (
        'O portal da OI não mostrou o que a automação esperava (elemento [id="oi-cnpj"] não encontrado); '
        "o portal pode ter mudado."
    )


def test_no_browser_process_outlives_the_jobs(carrier_workers, alice_api):
    run_carrier_job(alice_api, "OI")
    run_carrier_job(alice_api, "OI", senha="errada")
    assert browser_processes() == []
