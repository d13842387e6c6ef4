"""The SAT API client (seed 002) against the sandbox SAT API, with tokens that live 3 seconds."""

import json
import logging
import time

import pytest
import requests
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.files.storage import default_storage

from carriers.sandbox.common import DEMO_CNPJ, Invoice, invoice_pdf
from carriers.sat_api import SatApiClient, SatAuthError, SatRejected, Token
from carriers.tasks import sat_token_refresh_task
from jobs.queues import redis_connection

TOKEN_SECONDS = 3
MARGIN_SECONDS = 2  # a token is renewed once 1 s of its 3 s has passed
LOGIN = ("POST", "/sandbox/sat/api/auth/login")
REFRESH = ("GET", "/sandbox/sat/api/auth/tokenRefresh")
ENVIO = ("POST", "/sandbox/sat/api/envio")
PDF = invoice_pdf(Invoice("OI", "12345678", DEMO_CNPJ, "EMPRESA EXEMPLO LTDA", "202401"))
FIELDS = {
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


@pytest.fixture(autouse=True)
def sat_api(live_server, settings, tmp_path):
    """The client pointed at the live server's sandbox API; no token shared from an earlier test."""
    settings.SAT_API_URL = f"{live_server.url}/sandbox/sat/api"
    settings.SANDBOX_SAT_TOKEN_SECONDS = TOKEN_SECONDS
    settings.SAT_API_REFRESH_MARGIN_SECONDS = MARGIN_SECONDS
    settings.SAT_API_ACTIVE_SECONDS = 60
    settings.MEDIA_ROOT = str(tmp_path)
    redis = redis_connection()
    for key in redis.scan_iter("sat:api:*"):
        redis.delete(key)
    return settings


def recording(client: SatApiClient) -> list[tuple[str, str]]:
    """The (method, path) of every request `client` makes from now on."""
    calls = []
    client.http.hooks["response"].append(
        lambda response, *a, **k: calls.append((response.request.method, response.request.path_url))
    )
    return calls


def send(client: SatApiClient, content: bytes = PDF, name: str = "fatura_oi_202401.pdf") -> str:
    return client.send(fields={**FIELDS, "nome_arquivo": name}, file_name=name, content=content)


def test_it_logs_in_once_and_shares_the_token_with_other_processes(caplog):
    caplog.set_level(logging.DEBUG)
    client = SatApiClient()
    calls = recording(client)

    token = client.token()

    assert client.token() == token
    other = SatApiClient()  # e.g. another worker: finds the token in Redis
    other_calls = recording(other)
    assert other.token() == token
    assert calls == [LOGIN] and other_calls == []
    assert token not in caplog.text and "sandbox123" not in caplog.text


def test_it_sends_the_file_with_the_bearer_and_gets_a_protocol(caplog):
    caplog.set_level(logging.DEBUG)
    client = SatApiClient()
    calls = recording(client)

    protocolo = send(client)

    assert protocolo.startswith("SAT-") and calls == [LOGIN, ENVIO]
    with default_storage.open(f"sandbox/sat/{protocolo}_fatura_oi_202401.pdf", "rb") as stored:
        assert stored.read() == PDF
    with default_storage.open(f"sandbox/sat/{protocolo}.json", "rb") as stored:
        received = json.loads(stored.read())
    assert received["cnpj"] == "12345678000195" and received["data_vencimento"] == "15/02/2024"
    assert received["operadora"] == "OI" and received["dados_sat"] == "DADOS_SAT_EXEMPLO"
    assert client.token() not in caplog.text


def test_it_renews_the_token_through_token_refresh_when_little_time_is_left():
    client = SatApiClient()
    calls = recording(client)
    first = client.token()

    time.sleep(1.2)  # 1.8 s left: under the 2 s margin
    renewed = client.token()

    assert renewed != first
    assert calls == [LOGIN, REFRESH]
    assert client.token() == renewed  # 3 s left again: no further request
    assert send(client).startswith("SAT-")
    assert calls == [LOGIN, REFRESH, ENVIO]


def test_a_token_the_api_no_longer_takes_is_replaced_by_a_new_login():
    client = SatApiClient()
    client._store(Token(value="forjado.invalido", expires_at=time.time() + 1))
    calls = recording(client)

    token = client.token()

    assert token != "forjado.invalido"
    assert calls == [REFRESH, LOGIN]  # the refresh got 401, so it logged in again


def test_refresh_if_due_does_nothing_while_the_api_is_idle():
    client = SatApiClient()
    calls = recording(client)
    assert client.refresh_if_due() is False  # no token, never used

    token = client.token()  # logged in, but nothing sent: not "in use"
    time.sleep(1.2)

    assert client.refresh_if_due() is False
    assert calls == [LOGIN]
    assert client._load().value == token


def test_the_scheduled_refresh_renews_a_token_in_use_that_is_close_to_expiry():
    client = SatApiClient()
    send(client)
    before = client.token()
    assert client.refresh_if_due() is False  # in use, but not close to expiry yet
    calls = recording(client)

    time.sleep(1.2)
    sat_token_refresh_task()  # what the scheduler runs every 30 min

    after = client.token()
    assert after != before
    assert calls == []  # renewed by the task's own client, found here in Redis
    assert send(client).startswith("SAT-")


def test_a_401_cancels_the_send_and_logs_the_error_without_the_token(caplog):
    caplog.set_level(logging.DEBUG)
    client = SatApiClient()
    # A token the client believes valid for 10 min, but SAT never issued.
    client._store(Token(value="sat-integracao:forjado:assinatura", expires_at=time.time() + 600))
    calls = recording(client)

    with pytest.raises(SatAuthError) as failure:
        send(client, name="nao_enviada.pdf")

    assert failure.value.category == "auth" and failure.value.permanent
    assert failure.value.message == (
        "A API do SAT recusou o token de acesso (HTTP 401): o envio de nao_enviada.pdf foi cancelado."
    )
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "carriers.sat_api"]
    assert errors and "401" in errors[0].getMessage() and "send cancelled" in errors[0].getMessage()
    assert "forjado" not in caplog.text and "forjado" not in failure.value.message
    assert calls == [ENVIO]  # not retried
    assert not default_storage.exists("sandbox/sat") or not any(
        name.endswith("nao_enviada.pdf") for name in default_storage.listdir("sandbox/sat")[1]
    )
    assert client._load() is None  # the refused token is dropped: the next send logs in


def test_a_wrong_password_fails_as_authentication(sat_api):
    sat_api.SAT_API_PASSWORD = "errada"
    client = SatApiClient()

    with pytest.raises(SatAuthError) as failure:
        send(client)

    assert failure.value.category == "auth"
    assert failure.value.message == (
        "Falha de autenticação na API do SAT: usuário sat-integracao ou senha recusados (HTTP 401)."
    )
    assert "errada" not in failure.value.message


def test_a_file_sat_refuses_is_a_file_error_with_sats_reason():
    client = SatApiClient()

    with pytest.raises(SatRejected) as failure:
        send(client, content=b"<html>not a pdf</html>", name="fatura.pdf")

    assert failure.value.category == "file"
    assert failure.value.message == "O SAT recusou o envio de fatura.pdf: O arquivo enviado não é um PDF."


def test_the_token_is_not_readable_in_redis():
    client = SatApiClient()
    token = client.token()
    redis = redis_connection()

    stored = {key: redis.get(key) for key in redis.scan_iter("*") if redis.type(key) == b"string"}

    assert not any(token.encode() in value or b"sat-integracao:" in value for value in stored.values())
    [(key, ciphertext)] = [(k, v) for k, v in stored.items() if k.startswith(b"sat:api:token:")]
    assert b"sat-integracao" not in key  # the key names neither the user nor the password
    fernet = MultiFernet([Fernet(k.encode()) for k in settings.FIELD_ENCRYPTION_KEYS])
    assert json.loads(fernet.decrypt(ciphertext))["access_token"] == token
    assert 0 < redis.pttl(key) <= TOKEN_SECONDS * 1000  # gone from Redis when it expires


def test_the_sandbox_api_answers_401_to_a_missing_forged_or_expired_token(live_server):
    base = f"{live_server.url}/sandbox/sat/api"
    token = requests.post(
        f"{base}/auth/login", json={"username": "sat-integracao", "password": "sandbox123"}, timeout=5
    ).json()
    assert token["expires_in"] == TOKEN_SECONDS

    refreshed = requests.get(
        f"{base}/auth/tokenRefresh", timeout=5, headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert refreshed.status_code == 200 and refreshed.json()["access_token"] != token["access_token"]
    for headers in ({}, {"Authorization": "Bearer " + token["access_token"][:-2] + "xx"}):
        response = requests.post(f"{base}/envio", headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.json() == {"detail": "Token inválido ou expirado"}
    time.sleep(TOKEN_SECONDS + 1.1)
    expired = requests.get(
        f"{base}/auth/tokenRefresh", timeout=5, headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert expired.status_code == 401


def test_the_scheduler_renews_the_sat_token_every_30_minutes():
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("project.cron")  # as `manage.py rqcron project.cron` does
    jobs = {job.func_name: job for job in scheduler.get_jobs()}
    assert jobs["carriers.tasks.sat_token_refresh_task"].cron == "*/30 * * * *"
    assert jobs["carriers.tasks.sat_token_refresh_task"].queue_name == "default"
