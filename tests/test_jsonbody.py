"""JSON nested deeper than any payload of ours is refused with a sentence, on every JSON route,
before authentication matters; it never reaches Python's recursion limit as a server error."""

import json

import pytest
from rest_framework.test import APIClient

from jobs.models import Job
from project.jsonbody import MAX_JSON_DEPTH, JsonTooDeepError, json_loads_bounded

TOO_DEEP = "JSON aninhado demais: o limite é de 32 níveis de listas e objetos."
# What the adversarial probe sent: 5,000 levels in 10 KB.
RECURSION_BOMB = "[" * 5000 + "]" * 5000


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def post_json(client: APIClient, path: str, body: str):
    return client.post(path, body, content_type="application/json")


@pytest.mark.django_db
@pytest.mark.parametrize("body", [RECURSION_BOMB, json.dumps({"login": json.loads(nested(MAX_JSON_DEPTH))})])
@pytest.mark.parametrize("path", ["/auth/login", "/executar/OI", "/executar/sat"])
def test_the_seed_routes_answer_422_in_their_dialect(bob_api, path, body):
    response = post_json(bob_api, path, body)

    assert response.status_code == 422, response.content
    assert response.json() == {"detail": [{"loc": ["body"], "msg": TOO_DEEP, "type": "value_error.jsondecode"}]}
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/auth/token/", "/api/v1/auth/token/refresh/"])
def test_the_unauthenticated_v1_token_routes_answer_400(path):
    response = post_json(APIClient(), path, RECURSION_BOMB)

    assert response.status_code == 400, response.content
    assert response.json() == {"detail": TOO_DEEP}


@pytest.mark.django_db
def test_the_v1_job_route_answers_400_and_creates_nothing(bob_api):
    response = post_json(bob_api, "/api/v1/jobs/", RECURSION_BOMB)

    assert response.status_code == 400, response.content
    assert response.json() == {"detail": TOO_DEEP}
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_the_sandbox_portals_json_routes_answer_400():
    client = APIClient()
    for path in ("/sandbox/digitalnet/api/sessao", "/sandbox/sat/api/auth/login"):
        response = post_json(client, path, RECURSION_BOMB)
        assert response.status_code == 400, (path, response.content)


def test_a_value_at_the_limit_is_read():
    value = json_loads_bounded(json.dumps({"a": json.loads(nested(MAX_JSON_DEPTH - 1))}))
    assert value["a"] == json.loads(nested(MAX_JSON_DEPTH - 1))


@pytest.mark.parametrize("text", [RECURSION_BOMB, nested(MAX_JSON_DEPTH + 1), '{"a": ' * 40 + "1" + "}" * 40])
def test_deeper_values_are_a_value_error_that_says_why(text):
    with pytest.raises(JsonTooDeepError, match="JSON aninhado demais") as caught:
        json_loads_bounded(text)
    assert isinstance(caught.value, ValueError)
