"""/bot/*: profiles, tasks, the switch and the reads, with bad input, other users' ids,
missing credentials and the rate limits (no browser here: tests/sellerbot/test_runs.py runs them)."""

import json

import pytest
from django.db import connection
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from jobs.queues import redis_connection
from sellerbot.models import BotTask, LoginStatus, Profile, WorkerSwitch

pytestmark = pytest.mark.django_db

PROFILE = {"name": "Loja Centro", "username": "loja@exemplo.com.br", "password": "tiktok123"}


def make_profile(api, **overrides) -> dict:
    response = api.post("/bot/profiles", {**PROFILE, **overrides}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def make_task(api, profile_id, **overrides) -> dict:
    body = {"task_type": "reply_comments", "profile_id": str(profile_id),
            "config": {"max_replies": 50, "delay_seconds": 5}, **overrides}
    response = api.post("/bot/tasks", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def errors(response) -> dict[tuple, str]:
    assert response.status_code == 422, (response.status_code, response.content)
    return {tuple(item["loc"]): item["msg"] for item in response.json()["detail"]}


def metric(client, name: str, **labels) -> float | None:
    text = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


@pytest.fixture(autouse=True)
def _no_limits_left():
    """The minute windows of earlier tests do not count against this one."""
    redis = redis_connection()
    for key in redis.scan_iter("ratelimit:bot-*"):
        redis.delete(key)


# --- profiles -------------------------------------------------------------------------------

def test_a_profile_is_created_with_its_password_encrypted_and_never_returned(bob_api):
    body = make_profile(bob_api, region="BR")

    assert body["id"].isdigit() and body["name"] == "Loja Centro" and body["login_status"] == "unknown"
    assert "password" not in body and "tiktok123" not in json.dumps(body)
    assert "tiktok123" not in json.dumps(bob_api.get("/bot/profiles").json())
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM sellerbot_profile WHERE id = %s", [int(body["id"])])
        stored = cursor.fetchone()[0]
    assert "tiktok123" not in stored
    assert Profile.objects.get(pk=body["id"]).credentials == {"senha": "tiktok123"}


@pytest.mark.parametrize(("body", "loc", "message"), [
    ({"username": "a@b.c", "password": "x"}, ("body", "name"), "field required"),
    ({"name": "A", "password": "x"}, ("body", "username"), "field required"),
    ({"name": "A", "username": "a@b.c"}, ("body", "password"), "field required"),
    ({"name": 5, "username": "a@b.c", "password": "x"}, ("body", "name"), "str type expected"),
    ({"name": "A", "username": "a@b.c", "password": "x", "region": "XX"}, ("body", "region"), None),
    ({"name": "A" * 101, "username": "a@b.c", "password": "x"}, ("body", "name"), None),
    ({**PROFILE, "extra": 1}, ("body", "extra"), "extra fields not permitted"),
])
def test_a_bad_profile_names_the_field_and_stores_nothing(bob_api, body, loc, message):
    found = errors(bob_api.post("/bot/profiles", body, format="json"))
    assert loc in found
    if message:
        assert found[loc] == message
    assert not Profile.objects.exists()


def test_the_same_account_twice_is_a_conflict(bob_api):
    make_profile(bob_api)
    response = bob_api.post("/bot/profiles", PROFILE, format="json")
    assert response.status_code == 409
    assert "Já existe um perfil" in response.json()["detail"]


def test_another_users_profile_is_not_found_for_every_verb(bob_api, charlie_api):
    profile = make_profile(charlie_api)
    assert bob_api.get("/bot/profiles").json() == []
    for response in (bob_api.get(f"/bot/profiles/{profile['id']}"),
                     bob_api.delete(f"/bot/profiles/{profile['id']}"),
                     bob_api.post(f"/bot/profiles/{profile['id']}/verify", {}, format="json")):
        assert response.status_code == 404, response.content
        assert response.json()["detail"] == f"Perfil '{profile['id']}' não encontrado"
    found = errors(bob_api.post("/bot/tasks", {"task_type": "reply_comments", "profile_id": profile["id"]},
                                format="json"))
    assert found[("body", "profile_id")] == f"perfil {profile['id']} não encontrado"
    assert Profile.objects.filter(pk=profile["id"]).exists()


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "99999999999999999999", "1.5"])
def test_an_id_that_is_not_a_number_is_not_found(bob_api, raw):
    assert bob_api.get(f"/bot/profiles/{raw}").status_code == 404
    assert bob_api.delete(f"/bot/tasks/{raw}").status_code == 404


def test_a_profile_with_tasks_is_deleted_only_with_them_on_request(bob_api):
    profile = make_profile(bob_api)
    first, second = make_task(bob_api, profile["id"]), make_task(bob_api, int(profile["id"]))

    response = bob_api.delete(f"/bot/profiles/{profile['id']}")
    assert response.status_code == 409
    assert f"#{first['id']}" in response.json()["detail"] and f"#{second['id']}" in response.json()["detail"]
    assert "with_tasks=true" in response.json()["detail"]
    assert BotTask.objects.count() == 2

    assert bob_api.delete(f"/bot/profiles/{profile['id']}?with_tasks=true").status_code == 204
    assert not Profile.objects.exists() and not BotTask.objects.exists()


def test_a_profile_whose_task_is_running_is_not_deleted_even_with_its_tasks(bob_api):
    profile = make_profile(bob_api)
    task = make_task(bob_api, profile["id"])
    BotTask.objects.filter(pk=task["id"]).update(status="running")

    response = bob_api.delete(f"/bot/profiles/{profile['id']}?with_tasks=true")
    assert response.status_code == 409 and "em execução" in response.json()["detail"]
    assert bob_api.delete(f"/bot/tasks/{task['id']}").status_code == 409
    assert Profile.objects.exists()


def test_verify_queues_a_login_check_and_refuses_a_second_one_meanwhile(bob_api):
    profile = make_profile(bob_api)
    response = bob_api.post(f"/bot/profiles/{profile['id']}/verify", {"code": "246810"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "verifying" and body["status_url"] == f"/status/{body['job_id']}"

    again = bob_api.post(f"/bot/profiles/{profile['id']}/verify", {}, format="json")
    assert again.status_code == 409 and body["job_id"] in again.json()["detail"]
    assert errors(bob_api.post(f"/bot/profiles/{profile['id']}/verify", {"code": "abc"},
                               format="json"))[("body", "code")] == "o código de verificação tem só dígitos"


# --- tasks ----------------------------------------------------------------------------------

def test_the_seeds_example_body_creates_a_task_with_ids_as_strings(bob_api, client):
    profile = make_profile(bob_api)
    before = metric(client, "bot_task_created_total", task_type="reply_comments") or 0

    task = make_task(bob_api, profile["id"])

    assert task["id"].isdigit() and task["profile_id"] == profile["id"]
    assert task["status"] == "pending" and task["config"] == {"max_replies": 50, "delay_seconds": 5}
    assert [t["id"] for t in bob_api.get("/bot/tasks").json()] == [task["id"]]
    assert bob_api.get(f"/bot/tasks/{task['id']}").json()["profile_name"] == "Loja Centro"
    assert metric(client, "bot_task_created_total", task_type="reply_comments") == before + 1
    assert json.loads(redis_connection().get(f"bot:task:{task['id']}:status"))["status"] == "pending"
    assert 0 < redis_connection().ttl(f"bot:task:{task['id']}:status") <= 24 * 3600


def test_defaults_fill_what_the_config_leaves_out(bob_api):
    profile = make_profile(bob_api)
    assert make_task(bob_api, profile["id"], config={})["config"] == {"max_replies": 50, "delay_seconds": 5}
    assert make_task(bob_api, profile["id"], task_type="sync_orders", config={})["config"] == {"max_orders": 200}


def test_an_unknown_task_type_lists_the_valid_ones(bob_api):
    profile = make_profile(bob_api)
    found = errors(bob_api.post("/bot/tasks", {"task_type": "dance", "profile_id": profile["id"]}, format="json"))
    assert found[("body", "task_type")] == (
        "'dance' não é um task_type válido; os válidos são: reply_comments, reply_messages, sync_orders, update_stock"
    )


@pytest.mark.parametrize(("task_type", "config", "key", "message"), [
    ("reply_comments", {"max_replies": 0}, "max_replies", "deve estar entre 1 e 500 (recebido: 0)"),
    ("reply_comments", {"max_replies": 501}, "max_replies", "deve estar entre 1 e 500 (recebido: 501)"),
    ("reply_comments", {"max_replies": "50"}, "max_replies", "deve ser um número inteiro"),
    ("reply_comments", {"max_replies": True}, "max_replies", "deve ser um número inteiro"),
    ("reply_comments", {"max_replies": 2.5}, "max_replies", "deve ser um número inteiro"),
    ("reply_messages", {"delay_seconds": -1}, "delay_seconds", "deve estar entre 0 e 300 (recebido: -1)"),
    ("reply_messages", {"delay_seconds": 301}, "delay_seconds", "deve estar entre 0 e 300 (recebido: 301)"),
    ("reply_comments", {"speed": 3}, "speed",
     "chave desconhecida para reply_comments; as válidas são: max_replies, delay_seconds, templates"),
    ("reply_comments", {"templates": []}, "templates", "deve ser uma lista não vazia de textos"),
    ("reply_comments", {"templates": ["Oi {cliente}!"]}, "templates",
     "o modelo 1 usa {cliente}; os marcadores aceitos são {nome} e {produto}"),
    ("reply_comments", {"templates": ["ok", 3]}, "templates", "o modelo 2 deve ser um texto não vazio"),
    ("reply_comments", {"max_replies": 500, "delay_seconds": 300}, "delay_seconds",
     "com max_replies 500, as pausas somam 149700 s, perto ou além do tempo limite de uma execução (900 s, "
     "RPA_JOB_TIMEOUT): diminua delay_seconds ou max_replies"),
    ("sync_orders", {"max_orders": 1001}, "max_orders", "deve estar entre 1 e 1000 (recebido: 1001)"),
    ("update_stock", {}, "items", "é obrigatório: a lista de {sku, quantity} a gravar no estoque"),
    ("update_stock", {"items": [{"sku": "A1", "quantity": -3}]}, "items",
     "quantity do item 1 deve estar entre 0 e 100000 (recebido: -3)"),
    ("update_stock", {"items": [{"sku": "A1"}]}, "items", "o item 1 deve ter exatamente as chaves sku e quantity"),
])
def test_each_invalid_config_names_the_key_and_its_range(bob_api, task_type, config, key, message):
    profile = make_profile(bob_api)
    found = errors(bob_api.post("/bot/tasks", {"task_type": task_type, "profile_id": profile["id"], "config": config},
                                format="json"))
    assert found == {("body", "config", key): message}
    assert not BotTask.objects.exists()


@pytest.mark.parametrize(("body", "loc"), [
    ({"task_type": "reply_comments"}, ("body", "profile_id")),
    ({"task_type": "reply_comments", "profile_id": "abc"}, ("body", "profile_id")),
    ({"task_type": "reply_comments", "profile_id": True}, ("body", "profile_id")),
    ({"task_type": "reply_comments", "profile_id": "1", "config": [1]}, ("body", "config")),
    ({"task_type": "reply_comments", "profile_id": "1", "interval_seconds": 10}, ("body", "interval_seconds")),
    ({"profile_id": "1"}, ("body", "task_type")),
])
def test_a_bad_task_body_names_the_field(bob_api, body, loc):
    make_profile(bob_api)
    assert loc in errors(bob_api.post("/bot/tasks", body, format="json"))


def test_another_users_task_is_not_found(bob_api, charlie_api):
    task = make_task(charlie_api, make_profile(charlie_api)["id"])
    assert bob_api.get("/bot/tasks").json() == []
    assert bob_api.get(f"/bot/tasks/{task['id']}").status_code == 404
    assert bob_api.delete(f"/bot/tasks/{task['id']}").status_code == 404
    assert BotTask.objects.filter(pk=task["id"]).exists()
    assert charlie_api.delete(f"/bot/tasks/{task['id']}").status_code == 204


# --- the switch, the reads ------------------------------------------------------------------

def test_start_twice_and_stop_twice_are_conflicts_that_say_so(bob_api, client):
    started = metric(client, "bot_started_total") or 0
    first = bob_api.post("/bot/start", {}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["switch"] == "on" and first.json()["worker_id"]

    again = bob_api.post("/bot/start", {}, format="json")
    assert again.status_code == 409
    assert again.json() == {"detail": "O bot já está ligado. Veja GET /bot/worker-status."}
    assert metric(client, "bot_started_total") == started + 1

    assert bob_api.post("/bot/stop", {"reason": "fim do expediente"}, format="json").status_code == 200
    switch = WorkerSwitch.objects.get()
    assert not switch.running and switch.reason == "fim do expediente" and switch.changed_by.username == "bob"
    stopped = bob_api.post("/bot/stop", {}, format="json")
    assert stopped.status_code == 409
    assert stopped.json()["detail"] == "O bot já está parado. Veja GET /bot/worker-status."


def test_a_switched_on_worker_without_a_heartbeat_shows_as_stopped_with_the_reason(bob_api, client):
    redis_connection().delete("bot:worker:heartbeat")
    bob_api.post("/bot/start", {}, format="json")
    status = bob_api.get("/bot/worker-status").json()
    assert status["status"] == "stopped" and status["switch"] == "on"
    assert "não dá sinal de vida" in status["reason"] and status["heartbeat_age_seconds"] is None
    assert metric(client, "bot_worker_status") == 0


def test_stats_count_what_the_user_may_see(bob_api, charlie_api):
    make_task(bob_api, make_profile(bob_api)["id"])
    make_task(charlie_api, make_profile(charlie_api)["id"], task_type="sync_orders", config={})
    stats = bob_api.get("/bot/stats").json()
    assert stats["total_tasks"] == 1 and stats["tasks_by_status"]["pending"] == 1
    assert stats["tasks_by_type"] == {"reply_comments": 1, "reply_messages": 0, "sync_orders": 0, "update_stock": 0}
    assert stats["success_rate"] is None and stats["replies_sent"] == 0 and stats["profiles"] == 1


# --- credentials, bodies, limits ------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("get", "/bot/tasks"), ("post", "/bot/tasks"), ("get", "/bot/profiles"), ("post", "/bot/profiles"),
    ("delete", "/bot/profiles/1"), ("post", "/bot/profiles/1/verify"), ("delete", "/bot/tasks/1"),
    ("post", "/bot/start"), ("post", "/bot/stop"), ("get", "/bot/worker-status"), ("get", "/bot/stats"),
])
def test_every_route_refuses_missing_and_forged_tokens(method, path):
    anonymous = getattr(APIClient(), method)(path, {}, format="json")
    assert anonymous.status_code == 401 and anonymous.json() == {"detail": "Token inválido ou expirado"}
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.forged")
    assert getattr(forged, method)(path, {}, format="json").status_code == 401


def test_writing_needs_the_permission_to_start_jobs(django_user_model):
    from tests.conftest import bearer_client

    reader = bearer_client(django_user_model.objects.create_user("leitor", password="x"))
    assert reader.get("/bot/tasks").status_code == 200
    for path in ("/bot/profiles", "/bot/tasks", "/bot/start"):
        assert reader.post(path, PROFILE, format="json").status_code == 403
    assert not Profile.objects.exists()


def test_a_deeply_nested_or_oversized_body_is_refused_and_changes_nothing(bob_api):
    profile = make_profile(bob_api)
    deep = '{"a": ' * 40 + "1" + "}" * 40
    nested = f'{{"task_type": "reply_comments", "profile_id": "{profile["id"]}", "config": {deep}}}'
    response = bob_api.post("/bot/tasks", nested, content_type="application/json")
    assert response.status_code == 422 and response.json()["detail"][0]["type"] == "value_error.jsondecode"
    huge = {"task_type": "reply_comments", "profile_id": profile["id"], "config": {"templates": ["x" * 200_000]}}
    assert bob_api.post("/bot/tasks", huge, format="json").status_code == 413
    assert not BotTask.objects.exists()


def test_start_and_stop_are_limited_per_user_with_retry_after(bob_api, charlie_api):
    with override_settings(BOT_SWITCH_RATE_PER_MINUTE=2):
        assert bob_api.post("/bot/start", {}, format="json").status_code == 200
        assert bob_api.post("/bot/stop", {}, format="json").status_code == 200
        limited = bob_api.post("/bot/start", {}, format="json")
        assert limited.status_code == 429
        assert 1 <= int(limited["Retry-After"]) <= 60
        assert limited.json()["detail"].startswith("Muitas requisições ao Seller Bot; tente novamente em")
        assert not WorkerSwitch.objects.get().running
        # Another user has a minute of their own.
        assert charlie_api.post("/bot/start", {}, format="json").status_code == 200


def test_the_other_routes_are_limited_per_address_with_retry_after(bob_api, charlie_api):
    with override_settings(BOT_API_RATE_PER_MINUTE=3):
        for _ in range(3):
            assert bob_api.get("/bot/tasks").status_code == 200
        limited = charlie_api.get("/bot/stats")
        assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
        assert charlie_api.post("/bot/profiles", PROFILE, format="json").status_code == 429
    assert not Profile.objects.exists()


def test_a_profile_the_bot_could_not_log_into_keeps_its_reason(bob_api):
    profile = make_profile(bob_api)
    Profile.objects.filter(pk=profile["id"]).update(login_status=LoginStatus.FAILED, status_message="Senha incorreta.")
    listed = bob_api.get("/bot/profiles").json()[0]
    assert listed["login_status"] == "failed" and listed["status_message"] == "Senha incorreta."


def test_a_bot_run_is_not_retried_from_the_jobs_pages(bob, bob_api, client):
    from jobs.models import Job
    from jobs.services import lifecycle

    job = Job.objects.create(kind="tiktok.reply_comments", owner=bob, status="FAILED", error="x",
                             params={"task_id": 1, "profile_id": 1, "task_type": "reply_comments"})
    with pytest.raises(lifecycle.InvalidTransition, match="repetidas pelo próprio bot"):
        lifecycle.job_retry(job_id=job.id, owner=bob)
    assert Job.objects.count() == 1
