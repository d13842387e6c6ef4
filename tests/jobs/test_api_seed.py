"""The seed-compatible job routes (seed 003 §4, §5, §11): /executar, /status, /jobs, /health.

Errors speak the seed's dialect: 422 with a `detail` list of {loc, msg, type}, 404/401/503 with
`{"detail": "<sentence>"}`. A request that is refused never leaves a job behind.
"""

import json
import uuid
from datetime import datetime, timedelta

import jwt
import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from jobs.api import QueueUnavailableError
from jobs.models import Job, JobLog, JobStatus
from tests.conftest import bearer_client
from tests.jobs.helpers import DEMO, carrier_payload, invoice_downloaded_by

CARRIERS = ("OI", "VIVO", "EMBRATEL", "DIGITALNET")
CARRIER_FIELDS = ("login", "senha", "filtro", "cnpj")
SAT_FIELDS = ("cnpj", "razao", "operadora", "nome_filtro", "unidade", "servico", "dados_sat", "nome_arquivo",
              "data_vencimento")
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"
INVALID_TOKEN = {"detail": "Token inválido ou expirado"}
PORTAL_LOGIN = "portal-user@cliente.com.br"
PORTAL_PASSWORD = "S3nh4-do-Portal!"


def sat_payload(**overrides) -> dict:
    return {
        "cnpj": "12.345.678/0001-95",
        "razao": "EMPRESA EXEMPLO LTDA",
        "operadora": "OI",
        "nome_filtro": "OI FIXO",
        "unidade": "UNIDADE CENTRAL",
        "servico": "TELEFONIA",
        "dados_sat": "DADOS_SAT_EXEMPLO",
        "nome_arquivo": "fatura_oi_202401.pdf",
        "data_vencimento": "15/01/2024",
        **overrides,
    }


def carrier(**overrides) -> dict:
    """A valid /executar/{operadora} body, with some fields replaced."""
    return {**carrier_payload("12345678"), **overrides}


def without(payload: dict, field: str) -> dict:
    return {name: value for name, value in payload.items() if name != field}


def make_job(owner, kind="OI", status=JobStatus.PENDING, **fields) -> Job:
    fields.setdefault("params", {"filtro": "12345678", "cnpj": DEMO["cnpj"]})
    return Job.objects.create(kind=kind, owner=owner, status=status,
                              secrets={"login": PORTAL_LOGIN, "senha": PORTAL_PASSWORD}, **fields)


def assert_invalid(response, *errors):
    """A 422 in the seed dialect with exactly these (loc, type) pairs, and no job was created."""
    assert response.status_code == 422, response.content
    detail = response.json()["detail"]
    assert all(set(error) == {"loc", "msg", "type"} and error["msg"] for error in detail)
    assert [(error["loc"], error["type"]) for error in detail] == [(list(loc), kind) for loc, kind in errors]
    # Jobs are created PENDING (the completed one, if any, downloaded the invoice a SAT payload names).
    assert not Job.objects.filter(status=JobStatus.PENDING).exists()


@pytest.fixture
def bob_invoice(bob) -> Job:
    """The completed job of Bob's that downloaded the invoice sat_payload() names."""
    return invoice_downloaded_by(bob, "fatura_oi_202401.pdf")


def assert_no_secret_in(response):
    assert PORTAL_LOGIN.encode() not in response.content
    assert PORTAL_PASSWORD.encode() not in response.content
    assert DEMO["senha"].encode() not in response.content
    assert DEMO["login"].encode() not in response.content


@pytest.fixture
def redis_down(settings):
    """Point the `rpa` queue at a port nothing listens on: the real client fails to connect."""
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "rpa": {**settings.RQ_QUEUES["rpa"], "URL": UNREACHABLE_REDIS}}


# --- POST /executar/{operadora} -------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("operadora", CARRIERS)
def test_it_creates_a_pending_job_for_each_carrier_and_queues_it(bob, bob_api, rpa_queue, operadora):
    response = bob_api.post(f"/executar/{operadora}", carrier_payload("12345678"), format="json")

    assert response.status_code == 200
    job = Job.objects.get()
    assert response.json() == {
        "job_id": str(job.id),
        "status": "PENDING",
        "message": f"Job criado para operadora {operadora}",
        "status_url": f"/status/{job.id}",
    }
    assert job.kind == operadora
    assert job.owner == bob
    assert job.status == JobStatus.PENDING
    assert job.params == {"filtro": "12345678", "cnpj": "12.345.678/0001-95"}
    assert job.secrets == {"login": DEMO["login"], "senha": DEMO["senha"]}
    assert job.processo_id is None
    assert str(job.id) in rpa_queue.get_job_ids()
    assert_no_secret_in(response)


@pytest.mark.django_db(transaction=True)
def test_it_creates_a_sat_job_and_queues_it(bob, bob_api, rpa_queue, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(), format="json")

    assert response.status_code == 200
    job = Job.objects.get(kind="SAT")
    assert response.json() == {
        "job_id": str(job.id),
        "status": "PENDING",
        "message": "Job criado para SAT",
        "status_url": f"/status/{job.id}",
    }
    assert job.kind == "SAT"
    assert job.owner == bob
    assert job.params == sat_payload()
    assert job.secrets == {}
    assert str(job.id) in rpa_queue.get_job_ids()


@pytest.mark.django_db
def test_it_keeps_the_processo_id_of_a_job(bob_api):
    processo_id = "b4148f5f-e820-408a-b623-8f1ba3fd2578"

    response = bob_api.post("/executar/OI", carrier(processo_id=processo_id), format="json")

    assert response.status_code == 200
    assert Job.objects.get().processo_id == uuid.UUID(processo_id)
    assert "processo_id" not in Job.objects.get().params


@pytest.mark.django_db
def test_it_accepts_a_null_processo_id(bob_api):
    response = bob_api.post("/executar/OI", carrier(processo_id=None), format="json")

    assert response.status_code == 200
    assert Job.objects.get().processo_id is None


@pytest.mark.django_db
@pytest.mark.parametrize("cnpj", ["12.345.678/0001-95", "12345678000195"])
def test_it_accepts_a_cnpj_with_or_without_punctuation(bob_api, cnpj):
    response = bob_api.post("/executar/VIVO", carrier(cnpj=cnpj), format="json")

    assert response.status_code == 200
    assert Job.objects.get().params["cnpj"] == cnpj


@pytest.mark.django_db
@pytest.mark.parametrize("operadora", ["oi", "Oi", "vivo", "SAT", "INVALID", "TIM"])
def test_it_answers_404_for_an_unknown_or_lowercase_carrier(bob_api, operadora):
    response = bob_api.post(f"/executar/{operadora}", carrier(), format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Operadora '{operadora}' não encontrada"}
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_carrier_is_404_even_with_an_invalid_body(bob_api):
    response = bob_api.post("/executar/INVALID", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "Operadora 'INVALID' não encontrada"}


@pytest.mark.django_db
@pytest.mark.parametrize("field", CARRIER_FIELDS)
def test_it_rejects_a_carrier_job_missing_a_field(bob_api, field):
    response = bob_api.post("/executar/OI", without(carrier(), field), format="json")

    assert_invalid(response, (["body", field], "value_error.missing"))
    assert response.json()["detail"][0]["msg"] == "field required"


@pytest.mark.django_db
def test_it_names_every_missing_field_of_an_empty_body(bob_api):
    response = bob_api.post("/executar/OI", {}, format="json")

    assert_invalid(response, *[(["body", field], "value_error.missing") for field in CARRIER_FIELDS])


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [
    ("login", 12345),
    ("login", True),
    ("login", ["cliente@empresa.com.br"]),
    ("login", {"email": "cliente@empresa.com.br"}),
    ("senha", 123456),
    ("senha", False),
    ("filtro", 12345678),
    ("filtro", 1.5),
    ("cnpj", 12345678000195),
    ("cnpj", ["12345678000195"]),
])
def test_it_rejects_a_carrier_field_that_is_not_a_string(bob_api, field, value):
    response = bob_api.post("/executar/OI", carrier(**{field: value}), format="json")

    assert_invalid(response, (["body", field], "type_error.str"))
    assert response.json()["detail"][0]["msg"] == "str type expected"


@pytest.mark.django_db
@pytest.mark.parametrize("field", CARRIER_FIELDS)
def test_it_rejects_a_null_carrier_field(bob_api, field):
    response = bob_api.post("/executar/OI", carrier(**{field: None}), format="json")

    assert_invalid(response, (["body", field], "type_error.none.not_allowed"))


@pytest.mark.django_db
def test_it_ignores_an_unknown_field_as_the_original_service_did_and_names_it(bob_api):
    response = bob_api.post("/executar/OI", carrier(callback_url="http://evil", prioridade=1), format="json")

    assert response.status_code == 200, response.content
    assert response["X-Ignored-Fields"] == "callback_url,prioridade"
    job = Job.objects.get()
    assert set(job.params) == {"filtro", "cnpj"}
    assert set(job.secrets) == {"login", "senha"}


@pytest.mark.django_db
def test_a_valid_body_has_no_ignored_fields_header(bob_api):
    response = bob_api.post("/executar/OI", carrier(), format="json")

    assert response.status_code == 200
    assert "X-Ignored-Fields" not in response


@pytest.mark.django_db
def test_the_ignored_fields_header_is_encoded_and_bounded(bob_api):
    odd_names = {"com,virgula": 1, "quebra\r\nSet-Cookie: x=1": 2, "descrição": 3}
    many_names = {f"zz_{'x' * 100}_{n:03}": n for n in range(300)}
    response = bob_api.post("/executar/OI", carrier(**odd_names, **many_names), format="json")

    assert response.status_code == 200, response.content
    header = response["X-Ignored-Fields"]
    assert len(header) <= 1024
    assert header.isascii() and "\r" not in header and "\n" not in header
    names = header.split(",")
    assert names[:3] == ["com%2Cvirgula", "descri%C3%A7%C3%A3o", "quebra%0D%0ASet-Cookie%3A%20x%3D1"]
    assert all(len(name) <= 64 for name in names[3:]) and len(names) < 3 + len(many_names)
    assert "Set-Cookie" not in response.cookies


@pytest.mark.django_db
def test_an_unknown_field_does_not_hide_a_real_error(bob_api):
    response = bob_api.post("/executar/OI", carrier(cnpj="123", extra="x"), format="json")

    assert_invalid(response, (["body", "cnpj"], "value_error.cnpj"))


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [
    ("login", ""), ("login", "   "), ("senha", ""), ("filtro", ""), ("filtro", "  "), ("cnpj", ""),
])
def test_it_rejects_a_blank_carrier_field(bob_api, field, value):
    response = bob_api.post("/executar/OI", carrier(**{field: value}), format="json")

    assert_invalid(response, (["body", field], "value_error.any_str.min_length"))


@pytest.mark.django_db
@pytest.mark.parametrize("field, value", [
    ("login", "a" * 256), ("senha", "s" * 256), ("filtro", "f" * 256), ("cnpj", "1" * 19),
])
def test_it_rejects_a_carrier_field_that_is_too_long(bob_api, field, value):
    response = bob_api.post("/executar/OI", carrier(**{field: value}), format="json")

    assert_invalid(response, (["body", field], "value_error.any_str.max_length"))


@pytest.mark.django_db
def test_it_accepts_fields_at_their_maximum_length(bob_api):
    body = carrier_payload("f" * 255, login="a" * 255, senha="s" * 255)

    assert bob_api.post("/executar/OI", body, format="json").status_code == 200
    assert Job.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("processo_id", [
    "not-a-uuid", "b4148f5f-e820-408a-b623", "", "b4148f5f-e820-408a-b623-8f1ba3fd2578-00",
])
def test_it_rejects_a_processo_id_that_is_not_a_uuid(bob_api, processo_id):
    response = bob_api.post("/executar/OI", carrier(processo_id=processo_id), format="json")

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "processo_id"]]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("processo_id", [5, True, 1.5, ["b4148f5f-e820-408a-b623-8f1ba3fd2578"]])
def test_it_rejects_a_processo_id_that_is_not_even_a_string(bob_api, processo_id):
    response = bob_api.post("/executar/OI", carrier(processo_id=processo_id), format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "processo_id"], "msg": "value is not a valid uuid", "type": "value_error.invalid"},
    ]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("cnpj, message", [
    ("12.345.678/0001-90", "dígitos verificadores"),
    ("12345678000190", "dígitos verificadores"),
    ("11.111.111/1111-11", "dígitos verificadores"),
    ("00000000000000", "dígitos verificadores"),
    ("1234567800019", "14 dígitos"),
    ("123456780001955", "14 dígitos"),
    ("12.345.678/0001-9", "14 dígitos"),
    ("12345678/0001-95", "14 dígitos"),
    ("12.345.678.0001.95", "14 dígitos"),
    ("ab.cde.fgh/ijkl-mn", "14 dígitos"),
])
def test_it_rejects_an_invalid_cnpj(bob_api, cnpj, message):
    response = bob_api.post("/executar/EMBRATEL", carrier(cnpj=cnpj), format="json")

    assert_invalid(response, (["body", "cnpj"], "value_error.cnpj"))
    assert message in response.json()["detail"][0]["msg"]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [[carrier()], [], "login=a", 42, True])
def test_it_rejects_a_json_body_that_is_not_an_object(bob_api, body):
    response = bob_api.post("/executar/OI", json.dumps(body), content_type="application/json")

    assert_invalid(response, (["body"], "type_error.dict"))
    assert response.json()["detail"][0]["msg"] == "value is not a valid dict"


@pytest.mark.django_db
def test_it_rejects_a_json_null_body(bob_api):
    response = bob_api.post("/executar/OI", "null", content_type="application/json")

    assert_invalid(response, (["body"], "type_error.none.not_allowed"))


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ['{"login": "a", ', "{login: 'a'}", "not json at all", '{"login": "a"} trailing'])
def test_it_rejects_malformed_json(bob_api, raw):
    response = bob_api.post("/executar/OI", raw, content_type="application/json")

    assert_invalid(response, (["body"], "value_error.jsondecode"))
    assert response.json()["detail"][0]["msg"].startswith("JSON inválido")


@pytest.mark.django_db
def test_it_rejects_a_form_encoded_body(bob_api):
    response = bob_api.post("/executar/OI", carrier())  # multipart/form-data

    assert_invalid(response, (["body"], "value_error.content_type"))
    assert "application/json" in response.json()["detail"][0]["msg"]


@pytest.mark.django_db
def test_it_rejects_a_text_body(bob_api):
    response = bob_api.post("/executar/OI", json.dumps(carrier()), content_type="text/plain")

    assert_invalid(response, (["body"], "value_error.content_type"))


@pytest.mark.django_db
def test_it_refuses_a_body_over_the_size_limit_with_413(bob_api, settings):
    body = carrier_payload("x" * (settings.API_MAX_BODY_BYTES + 1))

    response = bob_api.post("/executar/OI", body, format="json")

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"Corpo da requisição muito grande: o limite é {settings.API_MAX_BODY_BYTES} bytes."
    }
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_a_body_just_under_the_size_limit_is_read_and_validated(bob_api, settings):
    body = carrier_payload("")
    padding = settings.API_MAX_BODY_BYTES - len(json.dumps(body)) - 10
    body["filtro"] = "f" * padding

    response = bob_api.post("/executar/OI", json.dumps(body), content_type="application/json")

    assert_invalid(response, (["body", "filtro"], "value_error.any_str.max_length"))


@pytest.mark.django_db
def test_the_size_limit_applies_to_sat_too(bob_api, settings):
    response = bob_api.post("/executar/sat", sat_payload(dados_sat="d" * (settings.API_MAX_BODY_BYTES + 1)),
                            format="json")

    assert response.status_code == 413
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_job_and_creates_nothing():
    response = APIClient().post("/executar/OI", carrier(), format="json")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_forged_token_and_creates_nothing(bob):
    forged = jwt.encode(dict(AccessToken.for_user(bob).payload), "some-other-signing-key-0123456789abcdef",
                        algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")

    for path, body in (("/executar/OI", carrier()), ("/executar/sat", sat_payload())):
        response = client.post(path, body, format="json")
        assert response.status_code == 401
        assert response.json() == INVALID_TOKEN
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_authentication_is_checked_before_the_body(bob):
    response = APIClient().post("/executar/OI", "{broken", content_type="application/json")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# --- who may start jobs: jobs.add_job, as on the pages --------------------------------------

NO_PERMISSION = {"detail": "Você não tem permissão para criar jobs (permissão jobs.add_job). "
                           "Peça acesso a um administrador."}


@pytest.fixture
def dora_api(django_user_model):
    """Dora signs in with a JWT but was not given jobs.add_job."""
    return bearer_client(django_user_model.objects.create_user("dora", password="dora-pass"))


@pytest.fixture
def vera_api(django_user_model):
    """Vera is staff with only jobs.view_job: she may look at every job, not start one."""
    vera = django_user_model.objects.create_user("vera", password="vera-pass", is_staff=True)
    vera.user_permissions.add(Permission.objects.get(codename="view_job"))
    return bearer_client(vera)


@pytest.mark.django_db
@pytest.mark.parametrize("path, body", [("/executar/OI", carrier()), ("/executar/sat", sat_payload())])
def test_a_user_without_the_add_job_permission_cannot_start_a_job(dora_api, vera_api, rpa_queue, path, body):
    for client in (dora_api, vera_api):
        response = client.post(path, body, format="json")

        assert response.status_code == 403
        assert response.json() == NO_PERMISSION
    assert Job.objects.count() == 0
    assert rpa_queue.get_job_ids() == []


@pytest.mark.django_db
def test_the_permission_is_checked_before_the_body(dora_api):
    response = dora_api.post("/executar/OI", "{broken", content_type="application/json")

    assert response.status_code == 403
    assert response.json() == NO_PERMISSION


@pytest.mark.django_db
def test_a_user_without_the_add_job_permission_still_sees_their_jobs(dora_api):
    assert dora_api.get("/jobs").json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_and_keeps_no_job_when_redis_is_down(bob_api, redis_down):
    response = bob_api.post("/executar/OI", carrier_payload("12345678"), format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": QueueUnavailableError.default_detail}
    assert Job.objects.count() == 0
    assert JobLog.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_sat_job_is_not_kept_either_when_redis_is_down(bob_api, redis_down, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(), format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": QueueUnavailableError.default_detail}
    assert not Job.objects.filter(kind="SAT").exists()


@pytest.mark.django_db(transaction=True)
def test_jobs_are_created_again_once_redis_is_back(bob_api, settings, rpa_queue):
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = {**working, "rpa": {**working["rpa"], "URL": UNREACHABLE_REDIS}}
    assert bob_api.post("/executar/OI", carrier(), format="json").status_code == 503
    settings.RQ_QUEUES = working

    response = bob_api.post("/executar/OI", carrier(), format="json")

    assert response.status_code == 200
    assert list(Job.objects.values_list("id", flat=True)) == [uuid.UUID(response.json()["job_id"])]
    assert response.json()["job_id"] in rpa_queue.get_job_ids()


# --- POST /executar/sat validation ----------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("field", SAT_FIELDS)
def test_it_rejects_a_sat_job_missing_a_field(bob_api, field, bob_invoice):
    response = bob_api.post("/executar/sat", without(sat_payload(), field), format="json")

    assert_invalid(response, (["body", field], "value_error.missing"))


@pytest.mark.django_db
@pytest.mark.parametrize("field", SAT_FIELDS)
def test_it_rejects_a_sat_field_that_is_a_number(bob_api, field, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(**{field: 15012024}), format="json")

    assert_invalid(response, (["body", field], "type_error.str"))


@pytest.mark.django_db
@pytest.mark.parametrize("data_vencimento", [
    "2024-01-15", "31/02/2024", "15/13/2024", "1/2/2024", "15/01/24", "15-01-2024", "amanhã", "",
])
def test_it_rejects_a_due_date_that_is_not_a_real_dd_mm_yyyy_date(bob_api, data_vencimento, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(data_vencimento=data_vencimento), format="json")

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "data_vencimento"]]
    assert not Job.objects.filter(kind="SAT").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("data_vencimento", ["29/02/2024", "31/12/2030", "01/01/2024"])
def test_it_accepts_a_real_dd_mm_yyyy_due_date(bob_api, data_vencimento, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(data_vencimento=data_vencimento), format="json")

    assert response.status_code == 200
    assert Job.objects.get(kind="SAT").params["data_vencimento"] == data_vencimento


@pytest.mark.django_db
def test_it_rejects_a_sat_job_with_an_invalid_cnpj(bob_api, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(cnpj="12.345.678/0001-90"), format="json")

    assert_invalid(response, (["body", "cnpj"], "value_error.cnpj"))


@pytest.mark.django_db
def test_carrier_credentials_sent_to_sat_are_ignored_and_never_kept(bob_api, bob_invoice):
    response = bob_api.post("/executar/sat", sat_payload(login=PORTAL_LOGIN, senha=PORTAL_PASSWORD), format="json")

    assert response.status_code == 200, response.content
    assert response["X-Ignored-Fields"] == "login,senha"
    job = Job.objects.get(pk=response.json()["job_id"])
    assert job.kind == "SAT" and job.secrets == {}
    assert PORTAL_LOGIN not in json.dumps(job.params) and PORTAL_PASSWORD not in json.dumps(job.params)


@pytest.mark.django_db
def test_it_rejects_a_sat_body_that_is_a_list(bob_api):
    response = bob_api.post("/executar/sat", [sat_payload()], format="json")

    assert_invalid(response, (["body"], "type_error.dict"))


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_sat_job():
    response = APIClient().post("/executar/sat", sat_payload(), format="json")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert Job.objects.count() == 0


# --- GET /status/{job_id} -------------------------------------------------------------------

@pytest.mark.django_db
def test_it_shows_the_full_status_of_an_own_job(bob, bob_api):
    started = timezone.now() - timedelta(seconds=30)
    job = make_job(bob, status=JobStatus.RUNNING, progress=75, started_at=started)
    first = JobLog.objects.create(job=job, message="Iniciando processamento da operadora OI",
                                  timestamp=started + timedelta(seconds=5))
    second = JobLog.objects.create(job=job, message="Executando RPA para OI", level=JobLog.Level.WARNING,
                                   timestamp=started + timedelta(seconds=10))

    response = bob_api.get(f"/status/{job.id}")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"job_id", "operadora", "status", "progress", "result", "error", "created_at",
                         "started_at", "completed_at", "logs"}
    assert body["job_id"] == str(job.id)
    assert body["operadora"] == "OI"
    assert body["status"] == "RUNNING"
    assert body["progress"] == 75
    assert body["result"] is None
    assert body["error"] is None
    assert body["completed_at"] is None
    assert datetime.fromisoformat(body["created_at"]) == job.created_at
    assert datetime.fromisoformat(body["started_at"]) == started
    assert [set(log) for log in body["logs"]] == [{"timestamp", "message"}] * 2
    assert [(datetime.fromisoformat(log["timestamp"]), log["message"]) for log in body["logs"]] == [
        (first.timestamp, first.message), (second.timestamp, second.message),
    ]
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_it_shows_the_result_of_a_completed_job(bob, bob_api):
    job = make_job(bob, status=JobStatus.COMPLETED, progress=100, result="jobs/fatura.pdf",
                   started_at=timezone.now(), completed_at=timezone.now())

    body = bob_api.get(f"/status/{job.id}").json()

    assert body["status"] == "COMPLETED"
    assert body["progress"] == 100
    assert body["result"] == "jobs/fatura.pdf"
    assert body["error"] is None
    assert datetime.fromisoformat(body["completed_at"]) == job.completed_at
    assert body["logs"] == []


@pytest.mark.django_db
def test_it_shows_the_error_of_a_failed_job(bob, bob_api):
    job = make_job(bob, kind="VIVO", status=JobStatus.FAILED, error="Falha de autenticação no portal",
                   completed_at=timezone.now())

    body = bob_api.get(f"/status/{job.id}").json()

    assert body["operadora"] == "VIVO"
    assert body["status"] == "FAILED"
    assert body["error"] == "Falha de autenticação no portal"
    assert body["result"] is None


@pytest.mark.django_db
def test_the_status_of_a_job_just_created_through_the_api_is_pending(bob_api):
    created = bob_api.post("/executar/DIGITALNET", carrier(), format="json").json()

    response = bob_api.get(created["status_url"])

    assert response.status_code == 200
    assert response.json()["job_id"] == created["job_id"]
    assert response.json()["status"] == "PENDING"
    assert response.json()["progress"] == 0
    assert response.json()["started_at"] is None
    assert_no_secret_in(response)


@pytest.mark.django_db
@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "invalid-job-id", "123", "c489e92d39ce48da"])
def test_it_answers_404_for_an_unknown_or_malformed_job_id(bob, bob_api, job_id):
    make_job(bob)

    response = bob_api.get(f"/status/{job_id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job '{job_id}' não encontrado"}


@pytest.mark.django_db
def test_a_user_cannot_see_another_users_job(charlie, bob_api):
    job = make_job(charlie)

    response = bob_api.get(f"/status/{job.id}")

    assert response.status_code == 404
    assert response.json() == {"detail": f"Job '{job.id}' não encontrado"}


@pytest.mark.django_db
def test_staff_can_see_any_users_job(charlie, alice_api):
    job = make_job(charlie)

    response = alice_api.get(f"/status/{job.id}")

    assert response.status_code == 200
    assert response.json()["job_id"] == str(job.id)
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_status_request(bob):
    job = make_job(bob)

    response = APIClient().get(f"/status/{job.id}")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# --- GET /jobs ------------------------------------------------------------------------------

@pytest.fixture
def three_jobs(bob):
    """Bob's jobs, oldest first: an OI COMPLETED, a VIVO FAILED, an OI PENDING."""
    now = timezone.now()
    return [
        make_job(bob, kind="OI", status=JobStatus.COMPLETED, progress=100, created_at=now - timedelta(minutes=3)),
        make_job(bob, kind="VIVO", status=JobStatus.FAILED, progress=40, created_at=now - timedelta(minutes=2)),
        make_job(bob, kind="OI", status=JobStatus.PENDING, created_at=now - timedelta(minutes=1)),
    ]


def listed_ids(response) -> list[str]:
    return [job["job_id"] for job in response.json()["jobs"]]


@pytest.mark.django_db
def test_it_lists_jobs_newest_first_with_their_summary(bob_api, three_jobs):
    response = bob_api.get("/jobs")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"total_jobs", "jobs"}
    assert body["total_jobs"] == 3
    oldest = three_jobs[0]
    assert body["jobs"][-1] == {
        "job_id": str(oldest.id),
        "operadora": "OI",
        "status": "COMPLETED",
        "progress": 100,
        "created_at": body["jobs"][-1]["created_at"],
    }
    assert datetime.fromisoformat(body["jobs"][-1]["created_at"]) == oldest.created_at
    assert listed_ids(response) == [str(job.id) for job in reversed(three_jobs)]
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_an_empty_job_list(bob_api):
    response = bob_api.get("/jobs")

    assert response.status_code == 200
    assert response.json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db
def test_it_filters_jobs_by_status(bob_api, three_jobs):
    response = bob_api.get("/jobs", {"status": "FAILED"})

    assert response.json()["total_jobs"] == 1
    assert listed_ids(response) == [str(three_jobs[1].id)]


@pytest.mark.django_db
def test_it_filters_jobs_by_operadora(bob_api, three_jobs):
    response = bob_api.get("/jobs", {"operadora": "OI"})

    assert response.json()["total_jobs"] == 2
    assert listed_ids(response) == [str(three_jobs[2].id), str(three_jobs[0].id)]


@pytest.mark.django_db
def test_it_combines_the_status_and_operadora_filters(bob_api, three_jobs):
    response = bob_api.get("/jobs", {"status": "PENDING", "operadora": "OI"})

    assert listed_ids(response) == [str(three_jobs[2].id)]
    assert bob_api.get("/jobs", {"status": "PENDING", "operadora": "VIVO"}).json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db
def test_an_unknown_operadora_filter_matches_nothing(bob_api, three_jobs):
    assert bob_api.get("/jobs", {"operadora": "TIM"}).json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db
def test_limit_and_offset_page_through_the_jobs_and_total_counts_them_all(bob_api, three_jobs):
    newest_first = [str(job.id) for job in reversed(three_jobs)]

    first_page = bob_api.get("/jobs", {"limit": 2})
    second_page = bob_api.get("/jobs", {"limit": 2, "offset": 2})
    offset_only = bob_api.get("/jobs", {"offset": 1})
    past_the_end = bob_api.get("/jobs", {"offset": 10})

    assert listed_ids(first_page) == newest_first[:2]
    assert listed_ids(second_page) == newest_first[2:]
    assert listed_ids(offset_only) == newest_first[1:]
    assert listed_ids(past_the_end) == []
    assert {page.json()["total_jobs"] for page in (first_page, second_page, offset_only, past_the_end)} == {3}


@pytest.mark.django_db
@pytest.mark.parametrize("params, name, kind", [
    ({"status": "FOO"}, "status", "type_error.enum"),
    ({"status": "pending"}, "status", "type_error.enum"),
    ({"limit": "0"}, "limit", "value_error.number.not_ge"),
    ({"limit": "1001"}, "limit", "value_error.number.not_le"),
    ({"limit": "abc"}, "limit", "value_error.invalid"),
    ({"limit": "1.5"}, "limit", "value_error.invalid"),
    ({"offset": "-1"}, "offset", "value_error.number.not_ge"),
    ({"offset": "x"}, "offset", "value_error.invalid"),
    ({"offset": "99999999999999999999"}, "offset", "value_error.number.not_le"),
    ({"page": "2"}, "page", "value_error.extra"),
])
def test_it_rejects_a_bad_query_parameter_with_422(bob_api, three_jobs, params, name, kind):
    response = bob_api.get("/jobs", params)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", name]
    assert error["type"] == kind
    assert error["msg"]


@pytest.mark.django_db
def test_it_names_every_bad_query_parameter(bob_api):
    response = bob_api.get("/jobs", {"status": "FOO", "limit": "0", "offset": "-1", "foo": "1"})

    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [
        ["query", "status"], ["query", "limit"], ["query", "offset"], ["query", "foo"],
    ]


@pytest.mark.django_db
def test_a_user_lists_only_their_own_jobs(bob, charlie, bob_api, charlie_api):
    bobs = make_job(bob)
    charlies = make_job(charlie, kind="VIVO")

    assert listed_ids(bob_api.get("/jobs")) == [str(bobs.id)]
    assert listed_ids(charlie_api.get("/jobs")) == [str(charlies.id)]
    assert bob_api.get("/jobs", {"operadora": "VIVO"}).json() == {"total_jobs": 0, "jobs": []}


@pytest.mark.django_db
def test_staff_list_every_users_jobs(alice_api, bob, charlie):
    jobs = [make_job(bob, created_at=timezone.now() - timedelta(minutes=1)), make_job(charlie)]

    response = alice_api.get("/jobs")

    assert response.json()["total_jobs"] == 2
    assert listed_ids(response) == [str(jobs[1].id), str(jobs[0].id)]


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_job_list():
    response = APIClient().get("/jobs")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# --- GET /health ----------------------------------------------------------------------------

@pytest.mark.django_db
def test_health_counts_pending_and_running_jobs(bob):
    for status in (JobStatus.PENDING, JobStatus.PENDING, JobStatus.RUNNING, JobStatus.COMPLETED, JobStatus.FAILED):
        make_job(bob, status=status)

    response = APIClient().get("/health")

    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy", "message": "API está funcionando", "jobs_pending": 2, "jobs_active": 1,
    }


@pytest.mark.django_db
def test_health_with_no_jobs(bob):
    assert APIClient().get("/health").json() == {
        "status": "healthy", "message": "API está funcionando", "jobs_pending": 0, "jobs_active": 0,
    }


@pytest.mark.django_db
def test_health_ignores_a_bad_token(bob):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")

    assert client.get("/health").status_code == 200


@pytest.mark.django_db
def test_health_is_unhealthy_and_names_redis_when_redis_is_unreachable(bob, redis_down):
    make_job(bob, status=JobStatus.PENDING)
    make_job(bob, status=JobStatus.RUNNING)
    make_job(bob, status=JobStatus.RUNNING)

    response = APIClient().get("/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unhealthy"
    assert "Redis" in body["message"]
    assert "banco" not in body["message"]
    assert (body["jobs_pending"], body["jobs_active"]) == (1, 2)
