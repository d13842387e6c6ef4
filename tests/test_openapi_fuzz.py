"""schemathesis over every operation in /openapi.json: no input may cause a server error."""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from project.wsgi import application
from tests.conftest import bearer_client, job_starter


@pytest.fixture
def api_schema(db):
    # Requests go straight into the WSGI app; like Django's test client, keep the test's
    # connection (and its transaction) open across them.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/openapi.json", application)
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def auth_header(django_user_model):
    user = job_starter(django_user_model.objects.create_user("fuzzer", password="fuzzer-pass", is_staff=True))
    return bearer_client(user)._credentials


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
# FUZZ_EXAMPLES raises the count for a deeper run than CI's.
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=list(HealthCheck)
)
def test_no_input_makes_the_server_fail(case, auth_header):
    response = case.call(headers={"Authorization": auth_header["HTTP_AUTHORIZATION"]})
    case.validate_response(response, checks=[not_a_server_error])


def test_the_schema_documents_both_surfaces(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/executar/{operadora}", "/executar/sat", "/status/{job_id}", "/jobs", "/health",
                 "/auth/login", "/auth/token", "/auth/tokenRefresh", "/api/v1/jobs/", "/api/v1/jobs/{id}/",
                 "/api/v1/auth/token/", "/api/v1/auth/token/refresh/"):
        assert path in paths, path


def test_every_operation_sits_in_exactly_one_of_six_groups(client):
    schema = client.get("/openapi.json").json()
    groups = ["Rotas do seed", "REST v1", "Autenticação", "Bots", "Seller Bot", "Sistema"]

    assert [tag["name"] for tag in schema["tags"]] == groups
    assert all(tag["description"] for tag in schema["tags"])
    operations = {
        f"{method.upper()} {path}": operation["tags"]
        for path, methods in schema["paths"].items() for method, operation in methods.items()
    }
    assert all(len(tags) == 1 and tags[0] in groups for tags in operations.values()), operations
    expected = {
        "POST /executar/{operadora}": "Rotas do seed", "POST /executar/sat": "Rotas do seed",
        "GET /status/{job_id}": "Rotas do seed", "GET /jobs": "Rotas do seed",
        "GET /api/v1/jobs/": "REST v1", "POST /api/v1/jobs/": "REST v1", "GET /api/v1/jobs/{id}/": "REST v1",
        "GET /api/v1/usage/": "REST v1", "GET /api/v1/usage/export.csv": "REST v1",
        "GET /api/v1/bots/me/": "Bots",
        "POST /api/v1/token-usage/": "Bots", "POST /api/v1/token-usage/batch/": "Bots",
        "POST /api/v1/events/": "Bots", "POST /api/v1/events/batch/": "Bots",
        "GET /api/v1/dashboard/status/": "Bots", "GET /api/v1/dashboard/metrics/": "Bots",
        "POST /auth/login": "Autenticação", "GET /auth/token": "Autenticação", "GET /auth/tokenRefresh": "Autenticação",
        "POST /api/v1/auth/token/": "Autenticação", "POST /api/v1/auth/token/refresh/": "Autenticação",
        "POST /api/v1/ws-tickets/": "Autenticação",
        "GET /health": "Sistema",
        **{operation: "Seller Bot" for operation in (
            "GET /bot/profiles", "POST /bot/profiles", "GET /bot/profiles/{profile_id}",
            "DELETE /bot/profiles/{profile_id}", "POST /bot/profiles/{profile_id}/verify",
            "GET /bot/tasks", "POST /bot/tasks", "GET /bot/tasks/{task_id}", "DELETE /bot/tasks/{task_id}",
            "POST /bot/start", "POST /bot/stop", "GET /bot/worker-status", "GET /bot/stats",
            "POST /seller-bot/message", "GET /seller-bot/conversations", "DELETE /seller-bot/conversations",
            "POST /seller-bot/conversations/{conversation_id}/handoff",
            "GET /seller-bot/conversations/{conversation_id}/messages",
            "POST /seller-bot/conversations/{conversation_id}/messages",
            "GET /seller-bot/stats", "GET /seller-bot/stats/intents", "GET /seller-bot/stats/funnel",
            "GET /seller-bot/config", "PATCH /seller-bot/config", "GET /seller-bot/health",
        )},
    }
    assert {operation: tags[0] for operation, tags in operations.items()} == expected
