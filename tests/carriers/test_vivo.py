"""VIVO in real Chromium against its sandbox portal, through POST /executar → worker → GET /status."""

import pytest

from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import DEMO, artifacts, run_carrier_job, stored_pdf

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_pages_through_the_table_and_stores_the_newest_invoice(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO")

    assert status["status"] == "COMPLETED", status
    assert status["result"] == "faturas/vivo_202401.pdf"
    pdf = stored_pdf(status["result"])
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert b"FATURA VIVO" in pdf and b"Referencia: 01/2024" in pdf and b"Contrato / filtro: 12345678" in pdf
    messages = [log["message"] for log in status["logs"]]
    assert "Acessando o portal Vivo Empresas" in messages
    assert "Login realizado no portal da VIVO" in messages
    assert "Fatura 01/2024 encontrada para o código do cliente 12345678" in messages
    assert "Aguardando a 2ª via ficar pronta" in messages
    assert not any(DEMO["senha"] in m or DEMO["login"] in m for m in messages)
    assert not artifacts(job)


def test_an_extra_account_finds_its_invoice_on_the_last_page(carrier_workers, alice_api):
    _, status = run_carrier_job(alice_api, "VIVO", login="ti@transportesvivo.com.br", senha="vivo-2024",
                                filtro="7700101", cnpj="11444777000161")

    assert status["status"] == "COMPLETED", status
    pdf = stored_pdf(status["result"])
    assert b"TRANSPORTES EXEMPLO LTDA" in pdf and b"Contrato / filtro: 7700101" in pdf


def test_a_cnpj_of_another_company_is_refused_before_searching(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", cnpj="11.222.333/0001-81")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "O CNPJ 11.222.333/0001-81 não pertence a esta conta do portal da VIVO."


def test_a_wrong_password_fails_as_authentication_with_evidence(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", senha="errada")

    assert status["status"] == "FAILED"
    assert job.error_category == "auth"
    assert status["error"] == ("Falha de autenticação no portal da VIVO: Usuário ou senha inválidos. "
                               "Após 5 tentativas o acesso será bloqueado.")
    kept = artifacts(job)
    assert kept["falha_tela.png"].startswith(b"\x89PNG")
    assert b"Usu\xc3\xa1rio ou senha inv\xc3\xa1lidos" in kept["falha_pagina.html"]


def test_an_unknown_filtro_fails_saying_no_invoice_was_found(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", filtro="00000000")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "Nenhuma fatura encontrada para o filtro 00000000 no portal da VIVO."


def test_a_second_copy_that_is_never_ready_fails_as_a_timeout(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", filtro="99999999")

    assert status["status"] == "FAILED"
    assert job.error_category == "timeout"
    assert status["error"].startswith("Tempo esgotado esperando o portal da VIVO")
    assert b"Preparando sua 2" in artifacts(job)["falha_pagina.html"]


def test_a_download_that_is_not_a_pdf_fails_as_file_processing(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", filtro="55555555")

    assert status["status"] == "FAILED"
    assert job.error_category == "file"
    assert "não é um PDF válido" in status["error"] and "o portal pode ter mudado" in status["error"]


def test_a_redesigned_portal_fails_saying_the_portal_may_have_changed(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "VIVO", login="layout@empresa.com.br")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == (
        'O portal da VIVO não mostrou o que a automação esperava (elemento [id="vivo-cnpj-titular"] não encontrado); '
        "o portal pode ter mudado."
    )
    assert browser_processes() == []
