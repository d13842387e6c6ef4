"""The token-usage routes (seed 000): what a record must be, the limits of a request, each refused
credential, idempotency on request_id (also under concurrent retries), and the shapes of a batch.
Whatever is refused writes no TokenUsage and no UsageDaily row."""

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import bots
from accounts.models import Bot, BotEvent, TokenUsage, UsageDaily
from project.middleware import body_limit
from tests.test_request_body import send_raw

USAGE = "/api/v1/token-usage/"
BATCH = "/api/v1/token-usage/batch/"
ME = "/api/v1/bots/me/"
BASE_DIR = Path(__file__).resolve().parents[2]
MALFORMED = ("Credencial de bot malformada: o token tem a forma cbot_<id do bot>_<segredo> e o x-bot-id, "
             "16 caracteres hexadecimais.")
MISSING = ("Credencial de bot ausente: envie os cabeçalhos x-bot-id e x-bot-token, "
           "ou Authorization: Bearer <token do bot>.")
pytestmark = pytest.mark.django_db



@pytest.fixture
def issued():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write,events:write,status:read")


@pytest.fixture
def client(issued):
    client = APIClient()
    client.credentials(**headers(issued))
    return client


def headers(issued) -> dict:
    return {"HTTP_X_BOT_ID": issued.bot.bot_id, "HTTP_X_BOT_TOKEN": issued.token}


def record(**fields) -> dict:
    return {"model": "gpt-4o-mini", "prompt_tokens": 100, "completion_tokens": 20, **fields}


def post_raw(client, path, body: str, **extra):
    return client.post(path, body, content_type="application/json", **extra)


def stored() -> tuple[int, int, int]:
    return TokenUsage.objects.count(), UsageDaily.objects.count(), BotEvent.objects.count()


def assert_nothing_stored():
    assert stored() == (0, 0, 0)


def invalid(errors: dict) -> dict:
    """The body of a refused record: the sentence lists each field, and `errors` names them."""
    listed = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
    return {"detail": f"Registro de consumo inválido: {listed}", "code": "invalid", "errors": errors}


def counts(client) -> dict:
    return client.get(ME).json()["counts"]["usage"]


# --- one record: what it must be ------------------------------------------------------------------

def test_a_record_is_stored_and_answered_201(client, issued):
    response = client.post(USAGE, record(request_id="r-1", conversation_id="c-9", metadata={"canal": "whatsapp"}),
                           format="json")
    assert response.status_code == 201, response.content
    usage = TokenUsage.objects.get()
    assert response.json() == {"index": 0, "status": "accepted", "key": "r-1", "id": usage.pk, "model": "gpt-4o-mini",
                               "total_tokens": 120, "cost": None, "priced": False}
    assert "Idempotent-Replayed" not in response
    assert (usage.bot_id, usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        issued.bot.pk, 100, 20, 120)
    assert (usage.cached_tokens, usage.reasoning_tokens, usage.conversation_id) == (0, 0, "c-9")
    assert usage.metadata == {"canal": "whatsapp"}
    assert abs(usage.occurred_at - timezone.now()) < timedelta(seconds=10)
    daily = UsageDaily.objects.get()
    assert (daily.bot_id, daily.model, daily.day, daily.records, daily.total_tokens, daily.unpriced_records) == (
        issued.bot.pk, "gpt-4o-mini", timezone.localdate(), 1, 120, 1)


def test_it_names_every_missing_field(client):
    response = client.post(USAGE, {}, format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"model": ["campo obrigatório"], "prompt_tokens": ["campo obrigatório"],
                                       "completion_tokens": ["campo obrigatório"]})
    assert_nothing_stored()


def test_it_names_unknown_fields(client):
    response = client.post(USAGE, record(tokens=5, usage={"x": 1}), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"tokens": ["campo desconhecido"], "usage": ["campo desconhecido"]})
    assert_nothing_stored()


@pytest.mark.parametrize(("field", "value", "message"), [
    ("prompt_tokens", -1, "não pode ser negativo"),
    ("completion_tokens", 1.5, "deve ser um número inteiro, não um número com casas decimais"),
    ("prompt_tokens", 100.0, "deve ser um número inteiro, não um número com casas decimais"),
    ("prompt_tokens", "100", "deve ser um número inteiro, não texto"),
    ("completion_tokens", True, "deve ser um número inteiro, não booleano"),
    ("prompt_tokens", [100], "deve ser um número inteiro, não lista"),
    ("prompt_tokens", {"n": 1}, "deve ser um número inteiro, não objeto"),
    ("prompt_tokens", 10**12 + 1, "grande demais: no máximo 1000000000000"),
    ("total_tokens", False, "deve ser um número inteiro, não booleano"),
    ("cached_tokens", -5, "não pode ser negativo"),
    ("reasoning_tokens", "3", "deve ser um número inteiro, não texto"),
    ("model", 4, "deve ser um texto, não número"),
    ("model", "   ", "não pode ser vazio"),
    ("model", "m" * 101, "longo demais: no máximo 100 caracteres"),
    ("request_id", 17, "deve ser um texto, não número"),
    ("request_id", "r" * 201, "longo demais: no máximo 200 caracteres"),
    ("conversation_id", True, "deve ser um texto, não booleano"),
    ("metadata", ["a"], "deve ser um objeto JSON"),
    ("metadata", "texto", "deve ser um objeto JSON"),
    ("occurred_at", True, "informe uma data ISO 8601 ou um número de segundos (ou milissegundos) desde 1970"),
    ("occurred_at", "ontem", "data inválida: use ISO 8601, por exemplo 2026-12-03T10:15:00-03:00"),
    ("prompt_tokens_details", 5, "deve ser um objeto JSON"),
])
def test_it_refuses_a_wrong_value_naming_its_field(client, field, value, message):
    response = client.post(USAGE, record(**{field: value}), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({field: [message]})
    assert_nothing_stored()


def test_a_nested_detail_is_named_by_its_path(client):
    response = client.post(USAGE, record(prompt_tokens_details={"cached_tokens": -1},
                                         completion_tokens_details={"reasoning_tokens": 2.5}), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({
        "prompt_tokens_details.cached_tokens": ["não pode ser negativo"],
        "completion_tokens_details.reasoning_tokens": ["deve ser um número inteiro, não um número com casas decimais"],
    })
    assert_nothing_stored()


def test_total_tokens_when_given_must_be_the_sum(client):
    response = client.post(USAGE, record(total_tokens=121), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"total_tokens": ["deve ser prompt_tokens + completion_tokens (120), não 121"]})
    assert_nothing_stored()
    assert client.post(USAGE, record(total_tokens=120), format="json").status_code == 201


def test_cached_tokens_are_part_of_the_prompt_and_reasoning_part_of_the_completion(client):
    response = client.post(USAGE, record(cached_tokens=101, reasoning_tokens=21), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"cached_tokens": ["é parte de prompt_tokens: não pode passar dele"],
                                       "reasoning_tokens": ["é parte de completion_tokens: não pode passar dele"]})
    response = client.post(USAGE, record(prompt_tokens_details={"cached_tokens": 101}), format="json")
    assert response.status_code == 400
    assert response.json()["errors"] == {"cached_tokens": ["é parte de prompt_tokens: não pode passar dele"]}
    assert_nothing_stored()
    assert client.post(USAGE, record(cached_tokens=100, reasoning_tokens=20), format="json").status_code == 201


def test_it_takes_openais_usage_object_as_it_is(client):
    usage = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
             "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
             "completion_tokens_details": {"reasoning_tokens": 200, "accepted_prediction_tokens": 0}}
    response = client.post(USAGE, {"model": "o3-mini", **usage}, format="json")
    assert response.status_code == 201, response.content
    stored_usage = TokenUsage.objects.get()
    assert (stored_usage.cached_tokens, stored_usage.reasoning_tokens, stored_usage.total_tokens) == (1000, 200, 1500)
    daily = UsageDaily.objects.get()
    assert (daily.prompt_tokens, daily.completion_tokens, daily.cached_tokens, daily.reasoning_tokens) == (
        1200, 300, 1000, 200)


def test_occurred_at_takes_iso_8601_and_the_epoch(client):
    moment = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    forms = [moment.isoformat(), timezone.localtime(moment).replace(tzinfo=None).isoformat(),
             int(moment.timestamp()), int(moment.timestamp()) * 1000]
    for n, form in enumerate(forms):
        response = client.post(USAGE, record(request_id=f"t-{n}", occurred_at=form), format="json")
        assert response.status_code == 201, (form, response.content)
    assert list(TokenUsage.objects.order_by("request_id").values_list("occurred_at", flat=True)) == [moment] * 4


def test_occurred_at_too_far_ahead_or_too_old_is_refused_naming_the_field(client, settings):
    ahead = timezone.now() + timedelta(seconds=settings.USAGE_MAX_FUTURE_SECONDS + 60)
    old = timezone.now() - timedelta(days=settings.USAGE_MAX_AGE_DAYS, hours=1)
    response = client.post(USAGE, record(occurred_at=ahead.isoformat()), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"occurred_at": [
        "data no futuro: no máximo 5 minuto(s) à frente do relógio do servidor"]})
    response = client.post(USAGE, record(occurred_at=int(old.timestamp())), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"occurred_at": ["data antiga demais: aceitam-se até 90 dia(s) atrás"]})
    assert_nothing_stored()
    recent = timezone.now() - timedelta(days=settings.USAGE_MAX_AGE_DAYS - 1)
    assert client.post(USAGE, record(occurred_at=recent.isoformat()), format="json").status_code == 201


def test_metadata_has_a_size_limit(client, settings):
    assert settings.USAGE_METADATA_MAX_BYTES == 4096
    # {"a":"…"} is 8 bytes around the text.
    response = client.post(USAGE, record(metadata={"a": "x" * (4096 - 8 + 1)}), format="json")
    assert response.status_code == 400
    assert response.json() == invalid({"metadata": ["grande demais: o limite é de 4096 bytes em JSON"]})
    assert_nothing_stored()
    assert client.post(USAGE, record(metadata={"a": "x" * (4096 - 8)}), format="json").status_code == 201


# --- the body as a whole ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [USAGE, BATCH])
def test_malformed_json_is_400(client, path):
    response = post_raw(client, path, '{"model": "gpt-4o",')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON inválido: ")
    assert_nothing_stored()


@pytest.mark.parametrize("body", ["[]", "[{}]", '"texto"', "3", "null", "true"])
def test_a_single_record_must_be_an_object(client, body):
    response = post_raw(client, USAGE, body)
    assert response.status_code == 400
    assert response.json() == invalid({"registro": [
        "deve ser um objeto JSON com model, prompt_tokens e completion_tokens"]})
    assert_nothing_stored()


@pytest.mark.parametrize("body", ['{"model": "gpt-4o"}', '"texto"', "3", "null", '{"records": {}}',
                                  '{"records": [], "extra": 1}'])
def test_a_batch_must_be_a_list_or_an_object_holding_one(client, body):
    response = post_raw(client, BATCH, body)
    assert response.status_code == 400
    assert response.json() == {"detail": 'Envie uma lista JSON de registros, ou um objeto {"records": [...]}.',
                               "code": "not_a_list"}
    assert_nothing_stored()


@pytest.mark.parametrize("path", [USAGE, BATCH])
def test_a_form_encoded_body_is_415(client, path):
    response = client.post(path, "model=gpt-4o&prompt_tokens=1&completion_tokens=1",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Tipo de mídia "application/x-www-form-urlencoded" não é suportado.'}
    assert_nothing_stored()


@pytest.mark.parametrize("path", [USAGE, BATCH])
def test_json_nested_deeper_than_32_levels_is_400(client, path):
    deep = {"model": "gpt-4o", "prompt_tokens": 1, "completion_tokens": 1, "metadata": {}}
    inner = deep["metadata"]
    for _ in range(40):
        inner["a"] = {}
        inner = inner["a"]
    response = client.post(path, deep if path == USAGE else [deep], format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON aninhado demais: o limite é de 32 níveis de listas e objetos."}
    assert_nothing_stored()


def test_the_body_limit_is_64_kib_on_one_record_and_1_mib_on_a_batch(client):
    # project.middleware.BodySizeLimitMiddleware refuses by Content-Length (the test client sets
    # it), before the view; under daphne AsgiRequestBody does the same as the body arrives.
    assert body_limit(USAGE) == 64 * 1024
    assert body_limit(BATCH) == 1024 * 1024
    big = json.dumps(record(metadata={"a": "x" * (64 * 1024)}))
    response = post_raw(client, USAGE, big)
    assert response.status_code == 413
    assert response.json() == {"detail": "Corpo da requisição muito grande: o limite é 65536 bytes."}
    # The same bytes are a fine size for a batch (whose record is then refused for its metadata).
    response = post_raw(client, BATCH, f"[{big}]")
    assert response.status_code == 422
    assert response.json()["results"][0]["errors"] == {"metadata": ["grande demais: o limite é de 4096 bytes em JSON"]}
    assert_nothing_stored()


def test_a_body_of_exactly_64_kib_reaches_the_view(client):
    padding = 64 * 1024 - len(json.dumps(record(metadata={"a": ""})))
    body = json.dumps(record(metadata={"a": "x" * padding}))
    assert len(body) == 64 * 1024
    response = post_raw(client, USAGE, body)
    assert response.status_code == 400
    assert response.json()["errors"] == {"metadata": ["grande demais: o limite é de 4096 bytes em JSON"]}
    assert post_raw(client, USAGE, body + " ").status_code == 413
    assert_nothing_stored()


def test_json_nested_32_levels_deep_is_taken(client):
    def nested(levels: int) -> dict:
        metadata: dict = {}
        for _ in range(levels - 1):
            metadata = {"a": metadata}
        return record(metadata=metadata)  # the body's object is the first level, metadata the second

    assert client.post(USAGE, nested(31), format="json").status_code == 201
    assert client.post(USAGE, nested(32), format="json").status_code == 400
    assert TokenUsage.objects.count() == 1


def test_a_batch_between_64_kib_and_1_mib_is_taken(client):
    items = [record(request_id=f"r-{n}", metadata={"nota": "x" * 400}) for n in range(400)]
    body = json.dumps(items)
    assert 64 * 1024 < len(body) < 1024 * 1024
    response = post_raw(client, BATCH, body)
    assert response.status_code == 200
    assert response.json()["accepted"] == 400
    assert TokenUsage.objects.count() == 400


def test_a_batch_over_1_mib_is_413(client):
    items = [record(request_id=f"r-{n}", metadata={"nota": "x" * 3000}) for n in range(400)]
    body = json.dumps(items)
    assert len(body) > 1024 * 1024
    response = post_raw(client, BATCH, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Corpo da requisição muito grande: o limite é 1048576 bytes."}
    assert_nothing_stored()


def test_a_batch_over_1000_records_is_413_naming_the_limit(client):
    response = client.post(BATCH, [record()] * 1001, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Lote grande demais: 1001 itens; o limite é de 1000 registros por lote.",
                               "code": "too_many_items"}
    assert_nothing_stored()
    response = client.post(BATCH, [record()] * 1000, format="json")
    assert response.status_code == 200
    assert TokenUsage.objects.count() == 1000


@pytest.mark.parametrize("body", ["[]", '{"records": []}'])
def test_an_empty_batch_is_400(client, body):
    response = post_raw(client, BATCH, body)
    assert response.status_code == 400
    assert response.json() == {"detail": "O lote está vazio: envie ao menos um item em records.", "code": "empty"}
    assert_nothing_stored()


def test_a_batch_may_come_wrapped_in_records(client):
    response = client.post(BATCH, {"records": [record(request_id="a"), record(request_id="b")]}, format="json")
    assert response.status_code == 200
    assert [r["key"] for r in response.json()["results"]] == ["a", "b"]
    assert TokenUsage.objects.count() == 2


# --- credentials ----------------------------------------------------------------------------------

def refused_credentials(kind: str, issued) -> dict:
    bot_id = issued.bot.bot_id
    if kind == "missing":
        return {}
    if kind == "half":
        return {"HTTP_X_BOT_ID": bot_id}
    if kind == "malformed":
        return {"HTTP_X_BOT_ID": bot_id, "HTTP_X_BOT_TOKEN": "abc"}
    if kind == "unknown":
        return {"HTTP_X_BOT_ID": "0123456789abcdef", "HTTP_X_BOT_TOKEN": "cbot_0123456789abcdef_" + "A" * 43}
    if kind == "wrong":
        return {"HTTP_X_BOT_ID": bot_id, "HTTP_X_BOT_TOKEN": f"cbot_{bot_id}_" + "A" * 43}
    if kind == "bearer_wrong":
        return {"HTTP_AUTHORIZATION": f"Bearer cbot_{bot_id}_" + "A" * 43}
    if kind == "disabled":
        bots.bot_disable(bot=issued.bot)
        return headers(issued)
    if kind == "expired":
        bots.bot_rotate(bot=issued.bot)
        Bot.objects.filter(pk=issued.bot.pk).update(previous_token_expires_at=timezone.now() - timedelta(seconds=1))
        return headers(issued)
    if kind == "scope":
        return headers(bots.bot_create(name="Só eventos", scopes="events:write"))
    raise AssertionError(kind)


CREDENTIAL_CASES = [
    ("missing", 401, {"detail": MISSING, "code": "missing_credentials"}),
    ("half", 401, {"detail": "Cabeçalho x-bot-token ausente: envie x-bot-id e x-bot-token juntos.",
                   "code": "missing_header"}),
    ("malformed", 401, {"detail": MALFORMED, "code": "malformed"}),
    ("unknown", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("wrong", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("bearer_wrong", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("disabled", 403, {"detail": "Este bot está desativado.", "code": "disabled"}),
    ("expired", 401, None),
    ("scope", 403, {"detail": "Este bot não tem o escopo usage:write.", "code": "missing_scope"}),
]


@pytest.mark.parametrize("path", [USAGE, BATCH])
@pytest.mark.parametrize(("kind", "status", "body"), CREDENTIAL_CASES)
def test_each_refused_credential_gets_its_own_answer_and_writes_nothing(issued, path, kind, status, body):
    credentials = refused_credentials(kind, issued)
    data = record(request_id="r-1") if path == USAGE else [record(request_id="r-1")]
    response = APIClient().post(path, data, format="json", **credentials)
    assert response.status_code == status, response.content
    if body is None:  # the expiry names the moment it passed
        assert response.json()["code"] == "token_expired"
        assert response.json()["detail"].startswith("Este token foi substituído e seu período de carência terminou em ")
        assert response.json()["detail"].endswith(". Use o token novo.")
    else:
        assert response.json() == body
    if status == 401:
        assert response.has_header("WWW-Authenticate")
    assert_nothing_stored()


@pytest.mark.parametrize(("kind", "status", "code"), [
    ("missing", 401, "missing_credentials"), ("malformed", 401, "malformed"), ("unknown", 401, "invalid"),
    ("wrong", 401, "invalid"), ("disabled", 403, "disabled"), ("expired", 401, "token_expired"),
])
def test_the_status_route_refuses_the_same_credentials(issued, kind, status, code):
    response = APIClient().get(ME, **refused_credentials(kind, issued))
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_the_status_route_needs_status_read(issued):
    writer = bots.bot_create(name="Só consumo", scopes="usage:write")
    response = APIClient().get(ME, **headers(writer))
    assert response.status_code == 403
    assert response.json() == {"detail": "Este bot não tem o escopo status:read.", "code": "missing_scope"}


def test_the_status_route_only_reads(client):
    response = client.post(ME, record(), format="json")
    assert response.status_code == 405
    assert_nothing_stored()


def test_the_rotated_token_still_records_during_its_grace(issued):
    rotated = bots.bot_rotate(bot=issued.bot)
    old = APIClient().post(USAGE, record(request_id="old"), format="json", **headers(issued))
    new = APIClient().post(USAGE, record(request_id="new"), format="json", HTTP_X_BOT_ID=issued.bot.bot_id,
                           HTTP_X_BOT_TOKEN=rotated.token)
    assert (old.status_code, new.status_code) == (201, 201)
    assert TokenUsage.objects.count() == 2


# --- idempotency ----------------------------------------------------------------------------------

def test_a_retry_gets_the_first_answer_again_and_is_counted_once(client):
    first = client.post(USAGE, record(request_id="r-1", conversation_id="c-1"), format="json")
    again = client.post(USAGE, record(request_id="r-1", conversation_id="c-1"), format="json")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert TokenUsage.objects.count() == 1
    daily = UsageDaily.objects.get()
    assert (daily.records, daily.total_tokens) == (1, 120)
    assert counts(client) == {"accepted": 1, "duplicate": 1, "rejected": 0, "unkeyed": 0}
    assert client.get(ME).json()["usage_month"]["records"] == 1


def test_a_retry_that_lets_the_server_stamp_the_time_is_still_a_retry(client):
    first = client.post(USAGE, record(request_id="r-1"), format="json")
    time.sleep(0.01)
    again = client.post(USAGE, record(request_id="r-1"), format="json")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_a_reused_request_id_with_another_body_is_409(client):
    first = client.post(USAGE, record(request_id="r-1"), format="json")
    response = client.post(USAGE, record(request_id="r-1", completion_tokens=21), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "O request_id 'r-1' já foi usado por este bot para outro registro: um retry deve repetir o mesmo "
                  "corpo; um registro novo precisa de outro request_id.",
        "code": "conflict", "errors": {"request_id": ["já usado para outro registro"]}}
    usage = TokenUsage.objects.get()
    assert (usage.pk, usage.completion_tokens) == (first.json()["id"], 20)
    assert UsageDaily.objects.get().records == 1
    assert counts(client) == {"accepted": 1, "duplicate": 0, "rejected": 1, "unkeyed": 0}


def test_a_reused_request_id_in_a_batch_is_rejected_as_a_conflict(client):
    client.post(USAGE, record(request_id="r-1"), format="json")
    response = client.post(BATCH, [record(request_id="r-1", model="gpt-4o")], format="json")
    assert response.status_code == 422
    assert response.json() == {"accepted": 0, "duplicate": 0, "rejected": 1, "results": [{
        "index": 0, "status": "rejected", "key": "r-1", "reason": "conflict",
        "message": "O request_id 'r-1' já foi usado por este bot para outro registro: um retry deve repetir o mesmo "
                   "corpo; um registro novo precisa de outro request_id.",
        "errors": {"request_id": ["já usado para outro registro"]}}]}
    assert TokenUsage.objects.get().model == "gpt-4o-mini"


def test_the_idempotency_key_header_keys_a_single_record(client):
    first = client.post(USAGE, record(), format="json", HTTP_IDEMPOTENCY_KEY="call-7")
    assert first.status_code == 201
    assert first.json()["key"] == "call-7"
    assert TokenUsage.objects.get().request_id == "call-7"
    again = client.post(USAGE, record(), format="json", HTTP_IDEMPOTENCY_KEY="call-7")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    # The same key in the body and in the header is the same request.
    both = client.post(USAGE, record(request_id="call-7"), format="json", HTTP_IDEMPOTENCY_KEY="call-7")
    assert both.json() == first.json() and both["Idempotent-Replayed"] == "true"
    assert TokenUsage.objects.count() == 1
    assert counts(client) == {"accepted": 1, "duplicate": 2, "rejected": 0, "unkeyed": 0}


def test_the_header_and_the_body_disagreeing_is_400(client):
    response = client.post(USAGE, record(request_id="a"), format="json", HTTP_IDEMPOTENCY_KEY="b")
    assert response.status_code == 400
    message = ("O cabeçalho Idempotency-Key e o request_id do corpo são diferentes: envie um só, ou o mesmo valor "
               "nos dois.")
    assert response.json() == {"detail": f"Registro de consumo inválido: {message}", "code": "invalid",
                               "errors": {"request_id": [message]}}
    assert_nothing_stored()


@pytest.mark.parametrize("key", ["", "   ", "k" * 181])
def test_an_idempotency_key_header_out_of_bounds_is_400(client, key):
    response = client.post(USAGE, record(), format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json() == {"detail": "Cabeçalho Idempotency-Key inválido: de 1 a 180 caracteres.",
                               "code": "invalid", "errors": {"Idempotency-Key": ["de 1 a 180 caracteres"]}}
    assert_nothing_stored()


def test_a_batch_with_the_header_keys_its_keyless_items_by_position(client):
    items = [record(), record(request_id="own"), record(prompt_tokens=5)]
    response = client.post(BATCH, items, format="json", HTTP_IDEMPOTENCY_KEY="lote-1")
    assert response.status_code == 200
    assert [r["key"] for r in response.json()["results"]] == ["lote-1:0", "own", "lote-1:2"]
    again = client.post(BATCH, items, format="json", HTTP_IDEMPOTENCY_KEY="lote-1")
    assert again.status_code == 200
    assert again.json()["duplicate"] == 3 and again.json()["accepted"] == 0
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in response.json()["results"]]
    assert TokenUsage.objects.count() == 3
    assert UsageDaily.objects.get().records == 3


def test_a_batch_of_one_with_the_header_is_still_a_batch(client):
    keyless = client.post(BATCH, [record()], format="json", HTTP_IDEMPOTENCY_KEY="lote-2")
    assert keyless.status_code == 200
    assert keyless.json()["results"][0]["key"] == "lote-2:0"
    own = client.post(BATCH, [record(request_id="own")], format="json", HTTP_IDEMPOTENCY_KEY="lote-3")
    assert own.status_code == 200
    assert own.json()["results"][0]["key"] == "own"
    assert set(TokenUsage.objects.values_list("request_id", flat=True)) == {"lote-2:0", "own"}


def test_a_record_without_a_key_is_accepted_and_counted_unkeyed(client):
    first = client.post(USAGE, record(), format="json")
    second = client.post(USAGE, record(), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert "key" not in first.json()
    assert first.json()["id"] != second.json()["id"]
    assert TokenUsage.objects.filter(request_id__isnull=True).count() == 2
    assert UsageDaily.objects.get().records == 2
    assert counts(client) == {"accepted": 2, "duplicate": 0, "rejected": 0, "unkeyed": 2}


def test_two_bots_may_use_the_same_request_id(client):
    other = bots.bot_create(name="Suporte", scopes="usage:write")
    mine = client.post(USAGE, record(request_id="shared"), format="json")
    theirs = APIClient().post(USAGE, record(request_id="shared", completion_tokens=1), format="json", **headers(other))
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert UsageDaily.objects.count() == 2


# --- batches --------------------------------------------------------------------------------------

def test_a_batch_of_accepted_and_duplicate_records_is_200(client):
    client.post(USAGE, record(request_id="a"), format="json")
    response = client.post(BATCH, [record(request_id="a"), record(request_id="b")], format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (1, 1, 0)
    assert [(r["index"], r["status"], r["key"]) for r in body["results"]] == [(0, "duplicate", "a"),
                                                                              (1, "accepted", "b")]


def test_a_mixed_batch_is_207_with_results_in_request_order(client):
    items = [record(request_id="a"), {"model": "gpt-4o"}, "texto", record(request_id="d", total_tokens=1),
             record(request_id="e", model="gpt-4o")]
    response = client.post(BATCH, items, format="json")
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 3)
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected", "rejected", "rejected", "accepted"]
    assert body["results"][1] == {
        "index": 1, "status": "rejected", "reason": "invalid",
        "message": "prompt_tokens: campo obrigatório; completion_tokens: campo obrigatório",
        "errors": {"prompt_tokens": ["campo obrigatório"], "completion_tokens": ["campo obrigatório"]}}
    assert body["results"][2]["errors"] == {"registro": [
        "deve ser um objeto JSON com model, prompt_tokens e completion_tokens"]}
    assert body["results"][3]["key"] == "d" and body["results"][3]["reason"] == "invalid"
    stored_ids = set(TokenUsage.objects.values_list("id", flat=True))
    assert stored_ids == {body["results"][0]["id"], body["results"][4]["id"]}
    assert UsageDaily.objects.count() == 2
    assert counts(client) == {"accepted": 2, "duplicate": 0, "rejected": 3, "unkeyed": 0}


def test_a_batch_where_every_record_is_refused_is_422_and_writes_nothing(client):
    response = client.post(BATCH, [{"model": 1}, record(prompt_tokens=-1)], format="json")
    assert response.status_code == 422
    assert (response.json()["accepted"], response.json()["rejected"]) == (0, 2)
    assert_nothing_stored()


def test_the_same_key_twice_in_one_batch_is_stored_once(client):
    items = [record(request_id="a"), record(request_id="b"), record(request_id="a"),
             record(request_id="b", prompt_tokens=1)]
    response = client.post(BATCH, items, format="json")
    assert response.status_code == 207
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["accepted", "accepted", "duplicate", "rejected"]
    assert results[2]["id"] == results[0]["id"]
    assert results[3]["reason"] == "conflict"
    assert TokenUsage.objects.count() == 2
    daily = UsageDaily.objects.get()
    assert (daily.records, daily.total_tokens) == (2, 240)
    assert counts(client) == {"accepted": 2, "duplicate": 1, "rejected": 1, "unkeyed": 0}


# --- concurrent retries ---------------------------------------------------------------------------

RETRIES = 8


def assert_counted_once(issued, answers):
    assert [status for status, _, _ in answers] == [201] * RETRIES, answers
    ids = {body["id"] for _, body, _ in answers}
    assert len(ids) == 1
    assert sorted(replayed for _, _, replayed in answers) == [False] + [True] * (RETRIES - 1)
    assert list(TokenUsage.objects.values_list("id", flat=True)) == list(ids)
    daily = UsageDaily.objects.get()
    assert (daily.records, daily.total_tokens) == (1, 120)
    me = APIClient().get(ME, **headers(issued)).json()
    assert me["counts"]["usage"] == {"accepted": 1, "duplicate": RETRIES - 1, "rejected": 0, "unkeyed": 0}


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_in_threads_store_one_record(issued):
    start = threading.Barrier(RETRIES)
    answers, errors = [], []

    def retry():
        try:
            client = APIClient()
            start.wait(timeout=10)
            response = client.post(USAGE, record(request_id="same"), format="json", **headers(issued))
            answers.append((response.status_code, response.json(), response.get("Idempotent-Replayed") == "true"))
        except Exception as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(RETRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert_counted_once(issued, answers)


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_over_http_to_the_asgi_server_store_one_record(issued, asgi_server):
    start = threading.Barrier(RETRIES)
    answers, errors = [], []
    body = json.dumps(record(request_id="same")).encode()

    def retry():
        request = urllib.request.Request(asgi_server.url + USAGE, data=body, method="POST", headers={
            "Content-Type": "application/json", "x-bot-id": issued.bot.bot_id, "x-bot-token": issued.token})
        try:
            start.wait(timeout=10)
            with urllib.request.urlopen(request, timeout=30) as response:
                answers.append((response.status, json.loads(response.read()),
                                response.headers.get("Idempotent-Replayed") == "true"))
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.read().decode(), False))
        except Exception as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=retry) for _ in range(RETRIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert_counted_once(issued, answers)


RETRY_SCRIPT = """
import json, sys, time
from pathlib import Path
import django
django.setup()
from django.db import connection
from accounts.models import Bot
from accounts.usage import services
bot = Bot.objects.get(bot_id=sys.argv[1])
connection.ensure_connection()
Path(sys.argv[2]).touch()
while not Path(sys.argv[3]).exists():
    time.sleep(0.002)
result = services.usage_record_many(bot=bot, items=[json.loads(sys.argv[4])], single=True).results[0]
print(json.dumps({"status": result.status, "id": result.id}))
"""


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_from_several_processes_store_one_record(issued, worker_env, tmp_path):
    go = tmp_path / "go"
    processes = [
        subprocess.Popen([sys.executable, "-c", RETRY_SCRIPT, issued.bot.bot_id, str(tmp_path / f"ready-{n}"), str(go),
                          json.dumps(record(request_id="same"))],
                         env=worker_env, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    try:
        deadline = time.monotonic() + 90
        while len(list(tmp_path.glob("ready-*"))) < len(processes):
            assert time.monotonic() < deadline, "the processes did not start"
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=60) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in processes] == [0] * len(processes), outputs
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sorted(r["status"] for r in results) == ["accepted"] + ["duplicate"] * (len(processes) - 1)
    assert len({r["id"] for r in results}) == 1
    assert TokenUsage.objects.count() == 1
    assert UsageDaily.objects.get().records == 1


# --- the limits under the real server -------------------------------------------------------------

def too_large(limit: int) -> dict:
    return {"detail": f"Corpo da requisição muito grande: o limite é {limit} bytes."}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_the_asgi_server_applies_each_routes_limit_to_what_arrives(issued, asgi_server, framing):
    def send(path: str, body: bytes) -> tuple[int, bytes]:
        framed = {"Transfer-Encoding": "chunked"} if framing == "chunked" else {"Content-Length": str(len(body))}
        chunks = [body[n:n + 16384] for n in range(0, len(body), 16384)]
        return send_raw(asgi_server, "POST", path, {"Content-Type": "application/json", "x-bot-id": issued.bot.bot_id,
                                                     "x-bot-token": issued.token, **framed}, chunks)

    batch = json.dumps([record(request_id=f"r-{n}", metadata={"nota": "x" * 400}) for n in range(300)]).encode()
    assert 64 * 1024 < len(batch) < 1024 * 1024
    status, answer = send(USAGE, batch)
    assert (status, json.loads(answer)) == (413, too_large(65536))
    status, answer = send(BATCH, batch)
    assert status == 200, answer
    assert json.loads(answer)["accepted"] == 300
    huge = json.dumps([record(metadata={"nota": "x" * 3000})] * 400).encode()
    status, answer = send(BATCH, huge)
    assert (status, json.loads(answer)) == (413, too_large(1048576))
    assert TokenUsage.objects.count() == 300
