"""DIGITALNET in real Chromium against its sandbox portal, through POST /executar → worker → GET /status."""

import pytest

from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import DEMO, artifacts, run_carrier_job, stored_pdf

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_waits_for_the_app_and_the_prepared_download(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET")

    assert status["status"] == "COMPLETED", status
    assert status["result"] == "faturas/digitalnet_202401.pdf"
    pdf = stored_pdf(status["result"])
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert b"FATURA DIGITALNET" in pdf and b"Referencia: 01/2024" in pdf and b"12.345.678/0001-95" in pdf
    messages = [log["message"] for log in status["logs"]]
    assert "Acessando a Área do Cliente DigitalNet" in messages
    assert "Login realizado no portal da DIGITALNET" in messages
    assert "Fatura 01/2024 encontrada para o contrato 12345678" in messages
    assert "Aguardando o portal preparar o download" in messages
    assert not any(DEMO["senha"] in m or DEMO["login"] in m for m in messages)
    assert not artifacts(job)


def test_an_extra_account(carrier_workers, alice_api):
    _, status = run_carrier_job(alice_api, "DIGITALNET", login="compras@redeexemplo.com.br", senha="dnet-2024",
                                filtro="DN-88001", cnpj="04.206.050/0001-80")

    assert status["status"] == "COMPLETED", status
    pdf = stored_pdf(status["result"])
    assert b"REDE EXEMPLO COMERCIO LTDA" in pdf and b"Contrato / filtro: DN-88001" in pdf


def test_a_wrong_password_fails_as_authentication_with_evidence(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", senha="errada")

    assert status["status"] == "FAILED"
    assert job.error_category == "auth"
    assert status["error"] == "Falha de autenticação no portal da DIGITALNET: E-mail ou senha incorretos."
    kept = artifacts(job)
    assert kept["falha_tela.png"].startswith(b"\x89PNG")
    assert b"E-mail ou senha incorretos" in kept["falha_pagina.html"]


def test_a_cnpj_not_linked_to_the_user_is_refused_at_login(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", cnpj="11.222.333/0001-81")

    assert status["status"] == "FAILED"
    assert job.error_category == "auth"
    assert status["error"] == ("Falha de autenticação no portal da DIGITALNET: "
                               "Este CNPJ não está vinculado ao seu usuário.")


def test_an_unknown_contract_fails_saying_no_invoice_was_found(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", filtro="00000000")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "Nenhuma fatura encontrada para o filtro 00000000 no portal da DIGITALNET."


def test_an_invoice_still_being_generated_fails_as_a_timeout(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", filtro="99999999")

    assert status["status"] == "FAILED"
    assert job.error_category == "timeout"
    assert status["error"].startswith("Tempo esgotado esperando o portal da DIGITALNET")
    assert "Gerando fatura…".encode() in artifacts(job)["falha_pagina.html"]


def test_a_download_that_is_not_a_pdf_fails_as_file_processing(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", filtro="55555555")

    assert status["status"] == "FAILED"
    assert job.error_category == "file"
    assert "não é um PDF válido" in status["error"] and "o portal pode ter mudado" in status["error"]


def test_a_redesigned_portal_fails_saying_the_portal_may_have_changed(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "DIGITALNET", login="layout@empresa.com.br")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == (
        "O portal da DIGITALNET não mostrou o que a automação esperava "
        "(painel de faturas (dn-faturas) não encontrado); o portal pode ter mudado."
    )
    assert browser_processes() == []
