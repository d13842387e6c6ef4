"""Events bots send to the dashboard (seed 001): one or a batch, deduplicated on the client's `id`,
the limits of a request, each refused credential, the dashboard's status and metrics routes, the
live notification, and intake going on while Redis is down."""

import asyncio
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import bots, notifications
from accounts.models import Bot, BotEvent, BudgetAlert, TokenUsage, UsageDaily
from project import live
from project.middleware import body_limit
from tests.listener import GroupListener

EVENTS = "/api/v1/events/"
BATCH = "/api/v1/events/batch/"
STATUS = "/api/v1/dashboard/status/"
METRICS = "/api/v1/dashboard/metrics/"
ME = "/api/v1/bots/me/"
MISSING = ("Credencial de bot ausente: envie os cabeçalhos x-bot-id e x-bot-token, "
           "ou Authorization: Bearer <token do bot>.")
MALFORMED = ("Credencial de bot malformada: o token tem a forma cbot_<id do bot>_<segredo> e o x-bot-id, "
             "16 caracteres hexadecimais.")
NOT_AN_OBJECT = {"evento": ['deve ser um objeto JSON {"event": "…", "payload": {…}}']}
pytestmark = pytest.mark.django_db



@pytest.fixture
def issued():
    return bots.bot_create(name="Loja", scopes="usage:write,events:write,status:read")


@pytest.fixture
def client(issued):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    return client


def event(**fields) -> dict:
    return {"event": "new_message", "payload": {"userId": "u-1", "text": "oi"}, **fields}


def post_raw(client, path, body: str):
    return client.post(path, body, content_type="application/json")


def assert_nothing_stored():
    assert (BotEvent.objects.count(), TokenUsage.objects.count(), UsageDaily.objects.count()) == (0, 0, 0)


def invalid(errors: dict) -> dict:
    listed = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items())
    return {"detail": listed, "code": "invalid", "errors": errors}


def counts(client) -> dict:
    return client.get(ME).json()["counts"]["events"]


# --- one event ------------------------------------------------------------------------------------

def test_an_event_is_stored_with_its_extra_fields_and_answered_201(client, issued):
    response = client.post(EVENTS, event(id="e-1", source="whatsapp", attempt=2,
                                         payload={"userId": 42, "orderId": "p-9", "status": "paid"}), format="json")
    assert response.status_code == 201, response.content
    stored = BotEvent.objects.get()
    assert response.json() == {"index": 0, "status": "accepted", "key": "e-1", "id": stored.pk}
    assert "Idempotent-Replayed" not in response
    assert (stored.bot_id, stored.event, stored.event_id) == (issued.bot.pk, "new_message", "e-1")
    assert stored.payload == {"userId": 42, "orderId": "p-9", "status": "paid"}
    assert stored.extra == {"source": "whatsapp", "attempt": 2}
    assert (stored.user_ref, stored.order_ref) == ("42", "p-9")
    assert abs(stored.occurred_at - timezone.now()) < timedelta(seconds=10)


def test_an_event_without_an_id_is_accepted_every_time_and_counted_unkeyed(client):
    first = client.post(EVENTS, event(), format="json")
    second = client.post(EVENTS, event(), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == {"index": 0, "status": "accepted", "id": BotEvent.objects.order_by("id").first().pk}
    assert BotEvent.objects.filter(event_id__isnull=True).count() == 2
    assert counts(client) == {"accepted": 2, "duplicate": 0, "rejected": 0, "unkeyed": 2}


@pytest.mark.parametrize(("data", "errors"), [
    ({}, {"event": ["campo obrigatório: um texto não vazio"], "payload": ["campo obrigatório: um objeto JSON"]}),
    (event(event=""), {"event": ["campo obrigatório: um texto não vazio"]}),
    (event(event=7), {"event": ["deve ser um texto"]}),
    (event(event=True), {"event": ["deve ser um texto"]}),
    (event(event="e" * 101), {"event": ["longo demais: no máximo 100 caracteres"]}),
    (event(payload=[1]), {"payload": ["deve ser um objeto JSON"]}),
    (event(payload="texto"), {"payload": ["deve ser um objeto JSON"]}),
    (event(payload=None), {"payload": ["campo obrigatório: um objeto JSON"]}),
    (event(id=True), {"id": ["deve ser um texto ou um número inteiro"]}),
    (event(id=1.5), {"id": ["deve ser um texto ou um número inteiro"]}),
    (event(id=["a"]), {"id": ["deve ser um texto ou um número inteiro"]}),
    (event(id="  "), {"id": ["de 1 a 200 caracteres"]}),
    (event(id="i" * 201), {"id": ["de 1 a 200 caracteres"]}),
    (event(timestamp="ontem"), {"timestamp": ["data inválida: use ISO 8601, por exemplo 2026-12-03T10:15:00-03:00"]}),
    (event(timestamp=False), {"timestamp": [
        "informe uma data ISO 8601 ou um número de segundos (ou milissegundos) desde 1970"]}),
])
def test_it_refuses_a_wrong_event_naming_each_field(client, data, errors):
    response = client.post(EVENTS, data, format="json")
    assert response.status_code == 400
    assert response.json() == invalid(errors)
    assert_nothing_stored()


def test_the_timestamp_is_iso_8601_or_the_epoch_and_not_too_far_from_now(client):
    moment = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    forms = [moment.isoformat(), timezone.localtime(moment).replace(tzinfo=None).isoformat(),
             int(moment.timestamp()), int(moment.timestamp()) * 1000]
    for n, form in enumerate(forms):
        assert client.post(EVENTS, event(id=n, timestamp=form), format="json").status_code == 201
    assert list(BotEvent.objects.order_by("event_id").values_list("occurred_at", flat=True)) == [moment] * 4
    ahead = client.post(EVENTS, event(timestamp=(timezone.now() + timedelta(minutes=6)).isoformat()), format="json")
    old = client.post(EVENTS, event(timestamp=int((timezone.now() - timedelta(days=31)).timestamp())), format="json")
    assert ahead.json() == invalid({"timestamp": [
        "data no futuro: no máximo 5 minuto(s) à frente do relógio do servidor"]})
    assert old.json() == invalid({"timestamp": ["data antiga demais: aceitam-se até 30 dia(s) atrás"]})
    assert BotEvent.objects.count() == 4


# --- deduplication --------------------------------------------------------------------------------

def test_a_resent_id_string_or_number_is_answered_as_the_first_time(client):
    first = client.post(EVENTS, event(id=5, sentAt="10:00"), format="json")
    again = client.post(EVENTS, event(id="5", sentAt="10:01"), format="json")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() == {"index": 0, "status": "accepted", "key": "5", "id": first.json()["id"]}
    assert again["Idempotent-Replayed"] == "true"
    # The first one is kept as it came, extra fields included.
    assert BotEvent.objects.get().extra == {"sentAt": "10:00"}
    assert counts(client) == {"accepted": 1, "duplicate": 1, "rejected": 0, "unkeyed": 0}


def test_a_resent_event_with_another_timestamp_is_still_a_duplicate(client):
    client.post(EVENTS, event(id="e-1", timestamp=int(timezone.now().timestamp()) - 60), format="json")
    again = client.post(EVENTS, event(id="e-1", timestamp=int(timezone.now().timestamp())), format="json")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert BotEvent.objects.count() == 1


def test_a_reused_id_for_another_event_is_409(client):
    client.post(EVENTS, event(id="e-1"), format="json")
    response = client.post(EVENTS, event(id="e-1", payload={"userId": "u-2"}), format="json")
    assert response.status_code == 409
    assert response.json() == {
        "detail": "O id 'e-1' já foi usado por este bot para outro evento: um reenvio deve repetir o mesmo evento; "
                  "um evento novo precisa de outro id.",
        "code": "conflict", "errors": {"id": ["já usado para outro evento"]}}
    assert BotEvent.objects.get().payload == {"userId": "u-1", "text": "oi"}
    assert counts(client) == {"accepted": 1, "duplicate": 0, "rejected": 1, "unkeyed": 0}


def test_two_bots_may_send_the_same_id(client):
    other = bots.bot_create(name="Outra loja", scopes="events:write")
    mine = client.post(EVENTS, event(id="e-1"), format="json")
    theirs = APIClient().post(EVENTS, event(id="e-1", payload={}), format="json",
                              HTTP_AUTHORIZATION=f"Bearer {other.token}")
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


# --- the body as a whole ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [EVENTS, BATCH])
def test_malformed_json_is_400(client, path):
    response = post_raw(client, path, '{"event": ')
    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON inválido: ")
    assert_nothing_stored()


@pytest.mark.parametrize("body", ["[]", '[{"event": "a", "payload": {}}]', '"texto"', "3", "null", "false"])
def test_a_single_event_must_be_an_object(client, body):
    response = post_raw(client, EVENTS, body)
    assert response.status_code == 400
    assert response.json() == invalid(NOT_AN_OBJECT)
    assert_nothing_stored()


@pytest.mark.parametrize("body", ['{"event": "a", "payload": {}}', '"texto"', "3", "null",
                                  '{"events": [], "records": []}'])
def test_a_batch_must_be_a_list_or_an_object_holding_one(client, body):
    response = post_raw(client, BATCH, body)
    assert response.status_code == 400
    assert response.json() == {"detail": 'Envie uma lista JSON de eventos, ou um objeto {"events": [...]}.',
                               "code": "not_a_list"}
    assert_nothing_stored()


@pytest.mark.parametrize("path", [EVENTS, BATCH])
def test_a_form_encoded_body_is_415(client, path):
    response = client.post(path, "event=a", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Tipo de mídia "application/x-www-form-urlencoded" não é suportado.'}
    assert_nothing_stored()


@pytest.mark.parametrize("path", [EVENTS, BATCH])
def test_json_nested_deeper_than_32_levels_is_400(client, path):
    body = '{"event": "a", "payload": ' + '{"a": ' * 40 + "{}" + "}" * 40 + "}"
    response = post_raw(client, path, body if path == EVENTS else f"[{body}]")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON aninhado demais: o limite é de 32 níveis de listas e objetos."}
    assert_nothing_stored()


def test_an_event_over_32_kib_is_413_naming_the_limit(client, settings):
    assert settings.EVENT_MAX_BYTES == 32 * 1024
    data = event(payload={"a": "x" * 40000})
    size = len(json.dumps(data, separators=(",", ":")).encode())
    response = client.post(EVENTS, data, format="json")
    assert response.status_code == 413
    message = f"grande demais: {size} bytes; o limite é de 32768 bytes por evento em JSON"
    assert response.json() == {"detail": f"evento: {message}", "code": "too_large", "errors": {"evento": [message]}}
    assert_nothing_stored()
    assert client.post(EVENTS, event(payload={"a": "x" * 32000}), format="json").status_code == 201


def test_an_event_of_exactly_32_kib_is_taken_and_one_byte_more_is_not(client):
    def sized(size: int) -> dict:
        data = event(id=f"s-{size}", payload={"a": ""})
        data["payload"]["a"] = "x" * (size - len(json.dumps(data, separators=(",", ":")).encode()))
        return data

    assert client.post(EVENTS, sized(32 * 1024), format="json").status_code == 201
    response = client.post(BATCH, [sized(32 * 1024 + 1)], format="json")
    assert response.status_code == 422
    assert response.json()["results"][0]["errors"] == {"evento": [
        "grande demais: 32769 bytes; o limite é de 32768 bytes por evento em JSON"]}
    assert BotEvent.objects.count() == 1


def test_a_body_over_64_kib_is_413_before_the_view(client):
    assert body_limit(EVENTS) == 64 * 1024 and body_limit(BATCH) == 1024 * 1024
    response = post_raw(client, EVENTS, json.dumps(event(payload={"a": "x" * 70000})))
    assert response.status_code == 413
    assert response.json() == {"detail": "Corpo da requisição muito grande: o limite é 65536 bytes."}
    assert_nothing_stored()


def test_a_batch_over_1_mib_is_413(client):
    body = json.dumps([event(payload={"a": "x" * 30000}) for _ in range(40)])
    assert len(body) > 1024 * 1024
    response = post_raw(client, BATCH, body)
    assert response.status_code == 413
    assert response.json() == {"detail": "Corpo da requisição muito grande: o limite é 1048576 bytes."}
    assert_nothing_stored()


def test_a_batch_over_500_events_is_413_naming_the_limit(client):
    response = client.post(BATCH, [event()] * 501, format="json")
    assert response.status_code == 413
    assert response.json() == {"detail": "Lote grande demais: 501 itens; o limite é de 500 eventos por lote.",
                               "code": "too_many_items"}
    assert_nothing_stored()
    assert client.post(BATCH, {"events": [event()] * 500}, format="json").status_code == 200
    assert BotEvent.objects.count() == 500


@pytest.mark.parametrize("body", ["[]", '{"events": []}'])
def test_an_empty_batch_is_400(client, body):
    response = post_raw(client, BATCH, body)
    assert response.status_code == 400
    assert response.json() == {"detail": "O lote está vazio: envie ao menos um item em events.", "code": "empty"}


# --- batches --------------------------------------------------------------------------------------

def test_a_batch_in_events_is_200_when_all_are_accepted_or_duplicates(client):
    client.post(EVENTS, event(id="a"), format="json")
    response = client.post(BATCH, {"events": [event(id="a"), event(id="b"), event()]}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 0)
    assert [(r["index"], r["status"], r.get("key")) for r in body["results"]] == [
        (0, "duplicate", "a"), (1, "accepted", "b"), (2, "accepted", None)]


def test_a_mixed_batch_is_207_in_request_order_with_a_too_large_event_rejected(client):
    items = [event(id="a"), event(payload={"a": "x" * 33000}, id="big"), "texto", event(id="a"),
             event(id="a", payload={}), event(event="order_update", payload={"orderId": 7})]
    response = client.post(BATCH, items, format="json")
    assert response.status_code == 207
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 1, 3)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(6))
    assert [r["status"] for r in results] == ["accepted", "rejected", "rejected", "duplicate", "rejected", "accepted"]
    assert (results[1]["reason"], results[1]["key"]) == ("too_large", "big")
    assert results[1]["errors"]["evento"][0].endswith("o limite é de 32768 bytes por evento em JSON")
    assert (results[2]["reason"], results[2]["errors"]) == ("invalid", NOT_AN_OBJECT)
    assert results[3]["id"] == results[0]["id"]
    assert (results[4]["reason"], results[4]["key"]) == ("conflict", "a")
    assert set(BotEvent.objects.values_list("event", flat=True)) == {"new_message", "order_update"}
    assert BotEvent.objects.count() == 2
    assert counts(client) == {"accepted": 2, "duplicate": 1, "rejected": 3, "unkeyed": 1}


def test_a_batch_where_every_event_is_refused_is_422(client):
    response = client.post(BATCH, [{"event": "a"}, {"payload": {}}], format="json")
    assert response.status_code == 422
    assert (response.json()["accepted"], response.json()["rejected"]) == (0, 2)
    assert_nothing_stored()


# --- credentials ----------------------------------------------------------------------------------

def refused_credentials(kind: str, issued) -> dict:
    if kind == "missing":
        return {}
    if kind == "malformed":
        return {"HTTP_AUTHORIZATION": "Bearer cbot_xyz"}
    if kind == "unknown":
        return {"HTTP_AUTHORIZATION": "Bearer cbot_0123456789abcdef_" + "A" * 43}
    if kind == "wrong":
        return {"HTTP_AUTHORIZATION": f"Bearer cbot_{issued.bot.bot_id}_" + "A" * 43}
    if kind == "disabled":
        bots.bot_disable(bot=issued.bot)
        return {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    if kind == "expired":
        bots.bot_rotate(bot=issued.bot)
        Bot.objects.filter(pk=issued.bot.pk).update(previous_token_expires_at=timezone.now() - timedelta(seconds=1))
        return {"HTTP_AUTHORIZATION": f"Bearer {issued.token}"}
    if kind == "scope":
        return {"HTTP_AUTHORIZATION": f"Bearer {bots.bot_create(name='Só consumo', scopes='usage:write').token}"}
    raise AssertionError(kind)


@pytest.mark.parametrize("path", [EVENTS, BATCH])
@pytest.mark.parametrize(("kind", "status", "body"), [
    ("missing", 401, {"detail": MISSING, "code": "missing_credentials"}),
    ("malformed", 401, {"detail": MALFORMED, "code": "malformed"}),
    ("unknown", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("wrong", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("disabled", 403, {"detail": "Este bot está desativado.", "code": "disabled"}),
    ("expired", 401, None),
    ("scope", 403, {"detail": "Este bot não tem o escopo events:write.", "code": "missing_scope"}),
])
def test_each_refused_credential_gets_its_own_answer_and_writes_nothing(issued, path, kind, status, body):
    data = event(id="e-1") if path == EVENTS else [event(id="e-1")]
    response = APIClient().post(path, data, format="json", **refused_credentials(kind, issued))
    assert response.status_code == status, response.content
    if body is None:
        assert response.json()["code"] == "token_expired"
        assert "período de carência terminou em " in response.json()["detail"]
    else:
        assert response.json() == body
    assert_nothing_stored()


@pytest.mark.parametrize("path", [STATUS, METRICS])
@pytest.mark.parametrize(("kind", "status", "body"), [
    ("missing", 401, {"detail": "Credencial ausente: envie Authorization: Bearer <token do bot> ou um JWT de equipe.",
                      "code": "missing_credentials"}),
    ("malformed", 401, {"detail": MALFORMED, "code": "malformed"}),
    ("unknown", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("wrong", 401, {"detail": "Bot ou token inválido.", "code": "invalid"}),
    ("disabled", 403, {"detail": "Este bot está desativado.", "code": "disabled"}),
    ("scope", 403, {"detail": "Este bot não tem o escopo events:write nem status:read.", "code": "missing_scope"}),
])
def test_the_dashboard_routes_refuse_each_credential(issued, path, kind, status, body):
    response = APIClient().get(path, **refused_credentials(kind, issued))
    assert response.status_code == status, response.content
    assert response.json() == body


@pytest.mark.parametrize("path", [STATUS, METRICS])
def test_the_dashboard_routes_are_open_to_staff_and_to_bots_that_read_them(path, alice_api, bob_api):
    assert alice_api.get(path).status_code == 200
    refused = bob_api.get(path)
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Você não tem permissão para executar essa ação."}
    reader = bots.bot_create(name="Painel", scopes="status:read")
    assert APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {reader.token}").status_code == 200
    writer = bots.bot_create(name="Emissor", scopes="events:write")
    assert APIClient().get(path, HTTP_AUTHORIZATION=f"Bearer {writer.token}").status_code == 200


@pytest.mark.parametrize("path", [STATUS, METRICS])
def test_the_dashboard_routes_only_read(path, alice_api):
    assert alice_api.post(path, {"event": "x"}, format="json").status_code == 405
    assert_nothing_stored()


def test_the_status_route_says_online(client, settings):
    response = client.get(STATUS)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["version"]) == ("online", settings.SPECTACULAR_SETTINGS["VERSION"])
    assert body["time"].endswith("-03:00")


# --- metrics --------------------------------------------------------------------------------------

def test_the_metrics_count_events_by_type_recent_ones_active_bots_users_and_orders(alice_api, client, issued):
    client.post(BATCH, [
        event(payload={"userId": "u-1", "orderId": 7}), event(payload={"userId": "u-2"}),
        event(event="order_update", payload={"userId": "u-1", "orderId": "7"}),
        event(event="order_update", payload={"orderId": 8, "userId": True}),
        event(event="handoff", payload={"userId": ""}),
    ], format="json")
    client.post(EVENTS, event(payload={"userId": "u-2", "orderId": 8}), format="json")  # later: the same people
    old = BotEvent.objects.filter(event="handoff")
    old.update(received_at=timezone.now() - timedelta(hours=25))
    quiet = bots.bot_create(name="Parado", scopes="events:write").bot
    Bot.objects.filter(pk=quiet.pk).update(last_seen_at=timezone.now() - timedelta(days=2))
    gone = bots.bot_create(name="Desligado", scopes="events:write").bot
    Bot.objects.filter(pk=gone.pk).update(last_seen_at=timezone.now(), is_active=False)

    response = alice_api.get(METRICS)
    assert response.status_code == 200
    body = response.json()
    assert body["events"] == {"total": 6, "last_24h": 5, "by_type": [
        {"event": "new_message", "total": 3, "last_24h": 3},
        {"event": "order_update", "total": 2, "last_24h": 2},
        {"event": "handoff", "total": 1, "last_24h": 0},
    ]}
    assert body["active_bots"] == 1  # the one that sent: not the quiet one, nor the disabled one
    assert body["users"] == 2  # u-1 twice, u-2; a boolean or an empty userId names nobody
    assert body["orders"] == 2  # 7 and "7" are one order; 8
    assert body["time"].endswith("-03:00")


def test_the_metrics_of_no_events_are_zeros(alice_api):
    body = alice_api.get(METRICS).json()
    assert body["events"] == {"total": 0, "last_24h": 0, "by_type": []}
    assert (body["active_bots"], body["users"], body["orders"]) == (0, 0, 0)


# --- live notification ----------------------------------------------------------------------------

def test_stored_events_are_announced_on_the_bots_group_after_commit(client, issued,
                                                                    django_capture_on_commit_callbacks):
    with GroupListener(notifications.BOTS_GROUP) as listener:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = client.post(BATCH, [event(id="a"), event(event="order_update", id="b")], format="json")
        assert response.status_code == 200
        assert len(callbacks) == 1
        live.flush()
        messages = GroupListener.unpacked(listener.drain(quiet=0.5))
    ids = {r["key"]: r["id"] for r in response.json()["results"]}
    assert [(m["type"], m["id"], m["event"], m["bot_id"], m["bot_name"]) for m in messages] == [
        ("bot.event", ids["a"], "new_message", issued.bot.bot_id, "Loja"),
        ("bot.event", ids["b"], "order_update", issued.bot.bot_id, "Loja"),
    ]


def test_duplicates_and_refusals_announce_nothing(client, django_capture_on_commit_callbacks):
    client.post(EVENTS, event(id="a"), format="json")
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(EVENTS, event(id="a"), format="json")
        client.post(EVENTS, {"event": "x"}, format="json")
    assert callbacks == []


# --- Redis down -----------------------------------------------------------------------------------

@pytest.fixture
def redis_down(settings, tmp_path, monkeypatch):
    """Every Redis the console uses (the queues, the auth throttle, the channel layer) at a socket
    nobody listens on; a publisher of its own, so that notifications meet the dead layer too."""
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.RQ_QUEUES = {name: {**queue, "URL": gone} for name, queue in settings.RQ_QUEUES.items()}
    settings.CHANNEL_LAYERS = {"default": {**settings.CHANNEL_LAYERS["default"], "CONFIG": {"hosts": [gone]}}}
    monkeypatch.setattr(live, "_PUBLISHER", None)
    yield
    dead = live._PUBLISHER
    if dead is not None:  # stop its loop, so that it does not go on trying a socket that is gone
        async def cancel_all():
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_all(), dead.loop).result(timeout=5)
        dead.loop.call_soon_threadsafe(dead.loop.stop)


def test_usage_and_events_are_taken_while_redis_is_down(issued, redis_down, django_capture_on_commit_callbacks):
    Bot.objects.filter(pk=issued.bot.pk).update(budget_unit="tokens", monthly_budget=100)
    client = APIClient()
    client.raise_request_exception = False
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        usage = client.post("/api/v1/token-usage/", {"model": "gpt-4o", "prompt_tokens": 100, "completion_tokens": 50,
                                                     "request_id": "r-1"}, format="json",
                            HTTP_X_BOT_ID=issued.bot.bot_id, HTTP_X_BOT_TOKEN=issued.token)
        sent = client.post(EVENTS, event(id="e-1"), format="json", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert usage.status_code == 201, usage.content
    assert usage.json()["status"] == "accepted"
    assert usage["X-Budget-Remaining"] == "0"
    assert sent.status_code == 201, sent.content
    assert sent.json() == {"index": 0, "status": "accepted", "key": "e-1", "id": BotEvent.objects.get().pk}
    assert TokenUsage.objects.get().request_id == "r-1"
    assert UsageDaily.objects.get().total_tokens == 150
    assert set(BudgetAlert.objects.values_list("level", flat=True)) == {"warning", "exceeded"}
    assert len(callbacks) == 3  # two budget alerts and the event, each sent to a Redis that is not there
    live.flush(timeout=1)
