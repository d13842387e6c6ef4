"""/events/logs against a real server (daphne): the first messages, who sees which log lines,
credentials, and a client that leaves."""

import json
import time

import pytest
import requests
from rest_framework_simplejwt.tokens import RefreshToken

from jobs import events
from jobs.models import Job
from jobs.queues import redis_connection
from project import live

pytestmark = pytest.mark.django_db(transaction=True)


def open_stream(server, query="", headers=None) -> requests.Response:
    return requests.get(f"{server.url}/events/logs{query}", stream=True, timeout=10, headers=headers or {})


def sse_messages(response: requests.Response):
    """The stream's data messages (dicts) and heartbeat comments (the string "heartbeat")."""
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("data: "):
            yield json.loads(line[6:])
        elif line.startswith(":"):
            yield "heartbeat"


def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def test_the_stream_opens_with_connection_then_system_status(asgi_server, bob):
    Job.objects.create(kind="OI", owner=bob, status=Job.Status.PENDING)
    Job.objects.create(kind="VIVO", owner=bob, status=Job.Status.RUNNING)
    Job.objects.create(kind="SAT", owner=bob, status=Job.Status.COMPLETED)
    with open_stream(asgi_server, f"?token={token_for(bob)}") as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        messages = sse_messages(response)
        connection = next(messages)
        assert connection["type"] == "connection"
        assert connection["message"] == "Conectado ao sistema de logs RPA em tempo real"
        assert connection["timestamp"].endswith("-03:00")
        status = next(messages)
        assert {k: status[k] for k in ("type", "jobs_pending", "jobs_active", "jobs_done")} == {
            "type": "system_status", "jobs_pending": 1, "jobs_active": 1, "jobs_done": 1}
        # Then a status every SSE_STATUS_SECONDS (1 s here) and heartbeats (2 s).
        kinds = [m if m == "heartbeat" else m["type"] for m, _ in zip(messages, range(4), strict=False)]
        assert kinds.count("system_status") >= 2 and "heartbeat" in kinds


def test_log_lines_of_the_jobs_one_may_see(asgi_server, bob, charlie):
    bobs = Job.objects.create(kind="VIVO", owner=bob, status=Job.Status.RUNNING)
    charlies = Job.objects.create(kind="OI", owner=charlie, status=Job.Status.RUNNING)
    with open_stream(asgi_server, f"?token={token_for(bob)}") as response:
        messages = sse_messages(response)
        assert next(messages)["type"] == "connection"
        events.job_log_publish(charlies, "INFO", "linha de outra pessoa")
        events.job_log_publish(bobs, "WARNING", "Iniciando execução")
        live.flush()
        log = next(m for m in messages if m != "heartbeat" and m["type"] == "log")
    assert {k: log[k] for k in ("type", "level", "message", "operadora", "job_id")} == {
        "type": "log", "level": "WARNING", "message": "Iniciando execução", "operadora": "VIVO", "job_id": str(bobs.id)}


def test_staff_see_every_jobs_log_lines(asgi_server, alice, charlie):
    charlies = Job.objects.create(kind="OI", owner=charlie, status=Job.Status.RUNNING)
    with open_stream(asgi_server, f"?token={token_for(alice)}") as response:
        messages = sse_messages(response)
        next(messages)
        events.job_log_publish(charlies, "INFO", "Executando RPA para OI")
        live.flush()
        log = next(m for m in messages if m != "heartbeat" and m["type"] == "log")
    assert log["message"] == "Executando RPA para OI"


@pytest.mark.parametrize("query", ["", "?token=forged", "?ticket=unknown"])
def test_without_valid_credentials_the_stream_is_refused(asgi_server, query):
    response = requests.get(f"{asgi_server.url}/events/logs{query}", timeout=10)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Autenticação necessária")


def test_a_bearer_header_is_accepted(asgi_server, bob):
    with open_stream(asgi_server, headers={"Authorization": f"Bearer {token_for(bob)}"}) as response:
        assert response.status_code == 200
        assert next(sse_messages(response))["type"] == "connection"


def test_only_get_is_allowed(asgi_server, bob):
    response = requests.post(f"{asgi_server.url}/events/logs?token={token_for(bob)}", timeout=10)
    assert response.status_code == 405


def test_a_client_that_leaves_is_dropped_from_the_group(asgi_server, bob):
    # The pub/sub layer subscribes a server process to a group while one of its clients is in it.
    group_channel = "asgi__group__" + events.ALL_JOBS_GROUP
    redis = redis_connection()

    def subscribers() -> int:
        return dict(redis.pubsub_numsub(group_channel))[group_channel.encode()]

    def wait_for_subscribers(expected: int) -> int:
        deadline = time.monotonic() + 10
        while (count := subscribers()) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        return count

    # Streams of the earlier tests on this server may still be closing: start from none.
    assert wait_for_subscribers(0) == 0
    with open_stream(asgi_server, f"?token={token_for(bob)}") as response:
        # Keep the generator: dropping it closes the response, and the client would be gone.
        messages = sse_messages(response)
        next(messages)
        assert wait_for_subscribers(1) == 1
    assert wait_for_subscribers(0) == 0


def test_the_access_log_never_shows_a_token(asgi_server, bob):
    token = token_for(bob)
    requests.get(f"{asgi_server.url}/health?token={token}&x=1", timeout=10)
    requests.get(f"{asgi_server.url}/events/logs?ticket=secret-ticket-value", timeout=10)
    deadline = time.monotonic() + 5
    while "ticket=[redacted]" not in asgi_server.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = asgi_server.access_log.read_text()
    assert "/health?token=[redacted]&x=1" in log
    assert "/events/logs?ticket=[redacted]" in log
    assert token not in log and "secret-ticket-value" not in log
