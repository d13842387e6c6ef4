"""One clock: every surface writes an instant the same way, ISO 8601 in TIME_ZONE with its offset
(America/Sao_Paulo: -03:00), so a log line read from /status, /api/v1, the websocket, the SSE
stream or the dashboard's JSON carries the very same text."""

import asyncio
import json
import re

import pytest
import requests
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import RefreshToken

from jobs.models import Job, JobLog
from jobs.services import lifecycle
from project import live
from project.asgi import application
from project.clock import iso_local

pytestmark = pytest.mark.django_db(transaction=True)

SAO_PAULO_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?-03:00$")


@pytest.fixture
def job(bob):
    return Job.objects.create(kind="OI", owner=bob, status=Job.Status.RUNNING, params={"filtro": "1"})


def token_for(user) -> str:
    return str(RefreshToken.for_user(user).access_token)


def test_the_helper_writes_sao_paulo_time_with_its_offset(settings):
    from datetime import UTC, datetime

    moment = datetime(2026, 12, 2, 11, 15, 30, 123456, tzinfo=UTC)
    assert settings.TIME_ZONE == "America/Sao_Paulo"
    assert iso_local(moment) == "2026-12-02T08:15:30.123456-03:00"


def test_the_seed_status_route_and_the_rest_api_write_the_same_form(bob_api, job):
    entry = lifecycle.job_log(job_id=job.id, level="INFO", message="Iniciando")

    status = bob_api.get(f"/status/{job.id}").json()
    detail = bob_api.get(f"/api/v1/jobs/{job.id}/").json()
    listed = bob_api.get("/jobs").json()["jobs"][0]

    assert status["created_at"] == detail["created_at"] == listed["created_at"] == iso_local(job.created_at)
    assert status["logs"][-1]["timestamp"] == detail["logs"][-1]["timestamp"] == iso_local(entry.timestamp)
    assert SAO_PAULO_ISO.match(status["created_at"]) and SAO_PAULO_ISO.match(status["logs"][-1]["timestamp"])


def test_a_websocket_log_frame_carries_the_recorded_lines_time(bob, job):
    token = token_for(bob)

    def record_a_line() -> JobLog:
        entry = lifecycle.job_log(job_id=job.id, level="INFO", message="Baixando fatura")
        live.flush()
        return JobLog.objects.get(pk=entry.pk)

    async def scenario():
        communicator = WebsocketCommunicator(
            application, f"/ws/notifications?token={token}",
            headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")],
        )
        assert (await communicator.connect(timeout=5))[0]
        await communicator.receive_json_from(timeout=5)  # connection
        await communicator.send_json_to({"action": "subscribe", "job_id": str(job.id)})
        await communicator.receive_json_from(timeout=5)  # subscribed
        await communicator.receive_json_from(timeout=5)  # the job's state
        entry = await asyncio.get_running_loop().run_in_executor(None, record_a_line)
        frame = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return entry, frame

    entry, frame = async_to_sync(scenario)()

    assert frame["type"] == "log" and frame["message"] == "Baixando fatura"
    assert frame["timestamp"] == iso_local(entry.timestamp)
    assert SAO_PAULO_ISO.match(frame["timestamp"])


def test_the_sse_stream_writes_every_time_with_the_offset(asgi_server, bob, job):
    url = f"{asgi_server.url}/events/logs?token={token_for(bob)}"
    with requests.get(url, stream=True, timeout=10) as response:
        messages = (json.loads(line[6:]) for line in response.iter_lines(decode_unicode=True)
                    if line.startswith("data: "))
        connection = next(messages)
        status = next(messages)
        entry = lifecycle.job_log(job_id=job.id, level="INFO", message="Executando RPA para OI")
        live.flush()
        log = next(m for m in messages if m["type"] == "log")

    assert connection["type"] == "connection" and status["type"] == "system_status"
    assert SAO_PAULO_ISO.match(connection["timestamp"]) and SAO_PAULO_ISO.match(status["timestamp"])
    assert log["timestamp"] == iso_local(JobLog.objects.get(pk=entry.pk).timestamp)


def test_the_dashboards_polling_json_writes_the_same_form(client, alice, job):
    client.force_login(alice)
    entry = lifecycle.job_log(job_id=job.id, level="INFO", message="Iniciando")

    body = client.get(f"/painel/jobs/{job.id}/estado.json").json()

    assert body["logs"][-1]["timestamp"] == iso_local(JobLog.objects.get(pk=entry.pk).timestamp)
    assert SAO_PAULO_ISO.match(body["logs"][-1]["timestamp"])
