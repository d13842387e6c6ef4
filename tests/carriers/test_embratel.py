"""EMBRATEL in real Chromium against its sandbox portal, through POST /executar → worker → GET /status."""

import pytest

from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import DEMO, artifacts, run_carrier_job, stored_pdf

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_accepts_the_cookies_searches_and_stores_the_newest_invoice(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL")

    assert status["status"] == "COMPLETED", status
    assert status["result"] == "faturas/embratel_202401.pdf"
    pdf = stored_pdf(status["result"])
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert b"FATURA EMBRATEL" in pdf and b"Referencia: 01/2024" in pdf and b"12.345.678/0001-95" in pdf
    messages = [log["message"] for log in status["logs"]]
    assert "Acessando o portal Embratel Empresas" in messages
    assert "Login realizado no portal da EMBRATEL" in messages
    assert "Pesquisando faturas do contrato 12345678" in messages
    assert "Fatura 01/2024 encontrada para o contrato 12345678" in messages
    assert not any(DEMO["senha"] in m or DEMO["login"] in m for m in messages)
    assert not artifacts(job)


def test_an_extra_account_with_an_unpunctuated_cnpj(carrier_workers, alice_api):
    _, status = run_carrier_job(alice_api, "EMBRATEL", login="contas@industriaexemplo.com.br",
                                senha="embratel-2024", filtro="2100451", cnpj="60701190000104")

    assert status["status"] == "COMPLETED", status
    pdf = stored_pdf(status["result"])
    assert b"INDUSTRIA EXEMPLO S.A." in pdf and b"Contrato / filtro: 2100451" in pdf


def test_a_wrong_password_fails_as_authentication_with_evidence(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", senha="errada")

    assert status["status"] == "FAILED"
    assert job.error_category == "auth"
    assert status["error"] == ("Falha de autenticação no portal da EMBRATEL: "
                               "Credenciais inválidas. Confira o usuário e a senha de acesso.")
    kept = artifacts(job)
    assert kept["falha_tela.png"].startswith(b"\x89PNG")
    assert b"Credenciais inv\xc3\xa1lidas" in kept["falha_pagina.html"]


def test_an_unknown_contract_fails_saying_no_invoice_was_found(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", filtro="00000000")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "Nenhuma fatura encontrada para o filtro 00000000 no portal da EMBRATEL."
    assert b"Nenhum resultado encontrado" in artifacts(job)["falha_pagina.html"]


def test_a_cnpj_of_another_company_finds_nothing(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", cnpj="11.222.333/0001-81")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == "Nenhuma fatura encontrada para o filtro 12345678 no portal da EMBRATEL."


def test_a_search_that_never_finishes_fails_as_a_timeout(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", filtro="99999999")

    assert status["status"] == "FAILED"
    assert job.error_category == "timeout"
    assert status["error"].startswith("Tempo esgotado esperando o portal da EMBRATEL")
    assert "Processando pesquisa…".encode() in artifacts(job)["falha_pagina.html"]


def test_a_download_that_is_not_a_pdf_fails_as_file_processing(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", filtro="55555555")

    assert status["status"] == "FAILED"
    assert job.error_category == "file"
    assert "não é um PDF válido" in status["error"] and "o portal pode ter mudado" in status["error"]


def test_a_redesigned_portal_fails_saying_the_portal_may_have_changed(carrier_workers, alice_api):
    job, status = run_carrier_job(alice_api, "EMBRATEL", login="layout@empresa.com.br")

    assert status["status"] == "FAILED"
    assert job.error_category == "navigation"
    assert status["error"] == (
        "O portal da EMBRATEL não mostrou o que a automação esperava "
        "(campo do número do contrato (emb-contrato) não encontrado); o portal pode ter mudado."
    )
    assert browser_processes() == []
