"""The REST API for new frontends: /api/v1/jobs/ (DRF's own error format, 400 not 422)."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from jobs.api import QueueUnavailableError
from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobLog, JobStatus
from tests.conftest import bearer_client
from tests.jobs.helpers import DEMO, carrier_payload, invoice_downloaded_by

JOBS = "/api/v1/jobs/"
JOB_FIELDS = {"id", "kind", "status", "progress", "params", "result", "error", "error_category", "processo_id",
              "created_at", "started_at", "completed_at"}
PORTAL_LOGIN = "portal-user@cliente.com.br"
PORTAL_PASSWORD = "S3nh4-do-Portal!"
SAT_PARAMS = {
    "cnpj": "12345678000195", "razao": "EMPRESA EXEMPLO LTDA", "operadora": "OI", "nome_filtro": "OI FIXO",
    "unidade": "UNIDADE CENTRAL", "servico": "TELEFONIA", "dados_sat": "DADOS_SAT_EXEMPLO",
    "nome_arquivo": "fatura_oi_202401.pdf", "data_vencimento": "15/01/2024",
}


def detail_url(job_id) -> str:
    return f"{JOBS}{job_id}/"


def make_job(owner, kind="OI", status=JobStatus.PENDING, **fields) -> Job:
    fields.setdefault("params", {"filtro": "12345678", "cnpj": DEMO["cnpj"]})
    return Job.objects.create(kind=kind, owner=owner, status=status,
                              secrets={"login": PORTAL_LOGIN, "senha": PORTAL_PASSWORD}, **fields)


def create_body(kind="OI", **params) -> dict:
    return {"kind": kind, "params": {**carrier_payload("12345678"), **params}}


def ids(response) -> list[str]:
    return [job["id"] for job in response.json()["results"]]


def assert_no_secret_in(response):
    for secret in (PORTAL_LOGIN, PORTAL_PASSWORD, DEMO["login"], DEMO["senha"]):
        assert secret.encode() not in response.content
    assert b'"secrets"' not in response.content


@pytest.fixture
def bobs_jobs(bob):
    """Oldest first: OI COMPLETED, VIVO FAILED, SAT PENDING."""
    now = timezone.now()
    return [
        make_job(bob, kind="OI", status=JobStatus.COMPLETED, progress=100, created_at=now - timedelta(minutes=3)),
        make_job(bob, kind="VIVO", status=JobStatus.FAILED, created_at=now - timedelta(minutes=2)),
        make_job(bob, kind="SAT", params=SAT_PARAMS, created_at=now - timedelta(minutes=1)),
    ]


# --- list -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_lists_jobs_newest_first_in_pages(bob_api, bobs_jobs):
    response = bob_api.get(JOBS)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3
    assert body["next"] is None
    assert body["previous"] is None
    assert ids(response) == [str(job.id) for job in reversed(bobs_jobs)]
    assert all(set(job) == JOB_FIELDS for job in body["results"])
    oldest = body["results"][-1]
    assert oldest["kind"] == "OI"
    assert oldest["status"] == "COMPLETED"
    assert oldest["progress"] == 100
    assert oldest["params"] == {"filtro": "12345678", "cnpj": DEMO["cnpj"]}
    assert datetime.fromisoformat(oldest["created_at"]) == bobs_jobs[0].created_at
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_limit_and_offset_page_the_list(bob_api, bobs_jobs):
    first = bob_api.get(JOBS, {"limit": 2})
    second = bob_api.get(JOBS, {"limit": 2, "offset": 2})

    assert first.json()["count"] == 3
    assert ids(first) == [str(bobs_jobs[2].id), str(bobs_jobs[1].id)]
    assert "offset=2" in first.json()["next"]
    assert first.json()["previous"] is None
    assert ids(second) == [str(bobs_jobs[0].id)]
    assert second.json()["next"] is None
    assert second.json()["previous"] is not None


@pytest.mark.django_db
@pytest.mark.parametrize("params, name", [
    ({"limit": "abc"}, "limit"), ({"limit": "0"}, "limit"), ({"limit": "501"}, "limit"),
    ({"offset": "-1"}, "offset"), ({"offset": "x"}, "offset"),
])
def test_it_rejects_a_bad_page_parameter_with_400(bob_api, bobs_jobs, params, name):
    response = bob_api.get(JOBS, params)

    assert response.status_code == 400
    assert list(response.json()) == [name]


@pytest.mark.django_db
def test_it_filters_the_list_by_status(bob_api, bobs_jobs):
    response = bob_api.get(JOBS, {"status": "FAILED"})

    assert response.json()["count"] == 1
    assert ids(response) == [str(bobs_jobs[1].id)]


@pytest.mark.django_db
def test_it_filters_the_list_by_kind(bob_api, bobs_jobs):
    response = bob_api.get(JOBS, {"kind": "SAT"})

    assert response.json()["count"] == 1
    assert ids(response) == [str(bobs_jobs[2].id)]
    assert response.json()["results"][0]["params"] == SAT_PARAMS


@pytest.mark.django_db
def test_it_combines_the_status_and_kind_filters(bob_api, bobs_jobs):
    assert ids(bob_api.get(JOBS, {"status": "COMPLETED", "kind": "OI"})) == [str(bobs_jobs[0].id)]
    assert bob_api.get(JOBS, {"status": "PENDING", "kind": "OI"}).json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("params, name", [
    ({"status": "FOO"}, "status"), ({"status": "pending"}, "status"),
    ({"kind": "INVALID"}, "kind"), ({"kind": "oi"}, "kind"),
])
def test_it_rejects_an_unknown_filter_value_with_400(bob_api, bobs_jobs, params, name):
    response = bob_api.get(JOBS, params)

    assert response.status_code == 400
    assert list(response.json()) == [name]


@pytest.mark.django_db
def test_a_user_lists_only_their_own_jobs(bob, charlie, bob_api):
    own = make_job(bob)
    make_job(charlie)

    response = bob_api.get(JOBS)

    assert response.json()["count"] == 1
    assert ids(response) == [str(own.id)]


@pytest.mark.django_db
def test_staff_list_every_users_jobs(alice_api, bob, charlie):
    make_job(bob)
    make_job(charlie)

    assert alice_api.get(JOBS).json()["count"] == 2


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_list(bob):
    make_job(bob)

    response = APIClient().get(JOBS)

    assert response.status_code == 401
    assert "results" not in response.json()


# --- create ---------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_it_creates_a_job_with_201_and_queues_it(bob, bob_api, rpa_queue):
    processo_id = str(uuid.uuid4())

    response = bob_api.post(JOBS, {**create_body("EMBRATEL"), "processo_id": processo_id}, format="json")

    assert response.status_code == 201
    job = Job.objects.get()
    body = response.json()
    assert set(body) == JOB_FIELDS
    assert body["id"] == str(job.id)
    assert body["kind"] == "EMBRATEL"
    assert body["status"] == "PENDING"
    assert body["progress"] == 0
    assert body["params"] == {"filtro": "12345678", "cnpj": DEMO["cnpj"]}
    assert body["processo_id"] == processo_id
    assert body["result"] is None and body["error"] is None
    assert "login" not in body["params"] and "senha" not in body["params"]
    assert job.owner == bob
    assert job.secrets == {"login": DEMO["login"], "senha": DEMO["senha"]}
    assert job.processo_id == uuid.UUID(processo_id)
    assert str(job.id) in rpa_queue.get_job_ids()
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_it_creates_a_sat_job(bob, bob_api):
    invoice_downloaded_by(bob, SAT_PARAMS["nome_arquivo"])
    response = bob_api.post(JOBS, {"kind": "SAT", "params": SAT_PARAMS}, format="json")

    assert response.status_code == 201
    job = Job.objects.get(kind="SAT")
    assert job.kind == "SAT"
    assert job.params == SAT_PARAMS
    assert job.secrets == {}
    assert job.processo_id is None


@pytest.mark.django_db
def test_a_processo_id_given_inside_params_is_kept(bob_api):
    processo_id = str(uuid.uuid4())

    response = bob_api.post(JOBS, create_body(processo_id=processo_id), format="json")

    assert response.status_code == 201
    assert response.json()["processo_id"] == processo_id
    job = Job.objects.get()
    assert job.processo_id == uuid.UUID(processo_id)
    assert "processo_id" not in job.params


@pytest.mark.django_db
def test_it_rejects_two_different_processo_ids(bob_api):
    body = {**create_body(processo_id=str(uuid.uuid4())), "processo_id": str(uuid.uuid4())}

    response = bob_api.post(JOBS, body, format="json")

    assert response.status_code == 400
    assert "processo_id" in response.json()
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_the_same_processo_id_inside_and_outside_params_is_accepted(bob_api):
    processo_id = str(uuid.uuid4())

    response = bob_api.post(JOBS, {**create_body(processo_id=processo_id), "processo_id": processo_id},
                            format="json")

    assert response.status_code == 201
    assert Job.objects.get().processo_id == uuid.UUID(processo_id)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["INVALID", "oi", "sat", "", None, 1])
def test_it_rejects_an_unknown_kind_with_400_and_creates_nothing(bob_api, kind):
    response = bob_api.post(JOBS, {"kind": kind, "params": carrier_payload("12345678")}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["kind"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["login", "senha", "filtro", "cnpj"])
def test_it_rejects_params_missing_a_field(bob_api, field):
    body = create_body()
    del body["params"][field]

    response = bob_api.post(JOBS, body, format="json")

    assert response.status_code == 400
    assert list(response.json()["params"]) == [field]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("params, field", [
    ({"cnpj": "12.345.678/0001-90"}, "cnpj"),
    ({"cnpj": "123"}, "cnpj"),
    ({"login": 12345}, "login"),
    ({"senha": ""}, "senha"),
    ({"filtro": "f" * 256}, "filtro"),
    ({"callback_url": "http://evil"}, "callback_url"),
    ({"processo_id": "not-a-uuid"}, "processo_id"),
])
def test_it_rejects_invalid_params_with_400_and_creates_nothing(bob_api, params, field):
    response = bob_api.post(JOBS, create_body(**params), format="json")

    assert response.status_code == 400
    assert list(response.json()["params"]) == [field]
    assert Job.objects.count() == 0
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_it_rejects_an_unknown_top_level_field_by_name_and_creates_nothing(bob_api):
    response = bob_api.post(JOBS, {**create_body(), "prioridade": "alta"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"prioridade": ["Campo desconhecido: não faz parte desta API."]}
    assert "X-Ignored-Fields" not in response
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_field_in_params_is_refused_in_portuguese(bob_api):
    response = bob_api.post(JOBS, create_body(callback_url="http://evil"), format="json")

    assert response.status_code == 400
    assert response.json() == {"params": {"callback_url": ["Campo desconhecido: não faz parte desta API."]}}
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_a_body_that_is_not_an_object_is_refused_in_portuguese(bob_api):
    response = bob_api.post(JOBS, [create_body()], format="json")

    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Envie um objeto JSON."]}
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_validates_sat_params_as_sat(bob_api):
    response = bob_api.post(JOBS, {"kind": "SAT", "params": carrier_payload("12345678")}, format="json")

    assert response.status_code == 400
    errors = response.json()["params"]
    assert {"razao", "data_vencimento", "login", "senha"} <= set(errors)
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_sat_due_date_that_is_not_dd_mm_yyyy(bob, bob_api):
    invoice_downloaded_by(bob, SAT_PARAMS["nome_arquivo"])
    response = bob_api.post(JOBS, {"kind": "SAT", "params": {**SAT_PARAMS, "data_vencimento": "2024-01-15"}},
                            format="json")

    assert response.status_code == 400
    assert list(response.json()["params"]) == ["data_vencimento"]
    assert not Job.objects.filter(kind="SAT").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [None, "login=a", ["a"], 42])
def test_it_rejects_params_that_are_not_an_object(bob_api, params):
    response = bob_api.post(JOBS, {"kind": "OI", "params": params}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["params"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_a_create_without_params(bob_api):
    response = bob_api.post(JOBS, {"kind": "OI"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["params"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("processo_id", ["not-a-uuid", 5, True])
def test_it_rejects_a_processo_id_that_is_not_a_uuid(bob_api, processo_id):
    response = bob_api.post(JOBS, {**create_body(), "processo_id": processo_id}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["processo_id"]
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_rejects_malformed_json_with_400(bob_api):
    response = bob_api.post(JOBS, '{"kind": "OI", ', content_type="application/json")

    assert response.status_code == 400
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_a_create_body_over_the_size_limit(bob_api, settings):
    response = bob_api.post(JOBS, create_body(filtro="f" * (settings.API_MAX_BODY_BYTES + 1)), format="json")

    assert response.status_code == 413
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_create_and_creates_nothing():
    response = APIClient().post(JOBS, create_body(), format="json")

    assert response.status_code == 401
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_staff_without_the_add_job_permission_cannot_create_a_job(django_user_model, rpa_queue):
    vera = django_user_model.objects.create_user("vera", password="vera-pass", is_staff=True)
    vera.user_permissions.add(Permission.objects.get(codename="view_job"))
    client = bearer_client(vera)

    response = client.post(JOBS, create_body(), format="json")

    assert response.status_code == 403
    assert "jobs.add_job" in response.json()["detail"]
    assert Job.objects.count() == 0
    assert rpa_queue.get_job_ids() == []
    assert client.get(JOBS).status_code == 200


@pytest.mark.django_db
def test_a_user_without_the_add_job_permission_cannot_create_a_job(django_user_model):
    dora = django_user_model.objects.create_user("dora", password="dora-pass")

    response = bearer_client(dora).post(JOBS, create_body("SAT", **SAT_PARAMS), format="json")

    assert response.status_code == 403
    assert Job.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_it_answers_503_and_keeps_no_job_when_redis_is_down(bob_api, settings):
    settings.RQ_QUEUES = {**settings.RQ_QUEUES, "rpa": {**settings.RQ_QUEUES["rpa"], "URL": "redis://127.0.0.1:1/0"}}

    response = bob_api.post(JOBS, create_body(), format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": QueueUnavailableError.default_detail}
    assert Job.objects.count() == 0


# --- detail ---------------------------------------------------------------------------------

@pytest.mark.django_db
def test_it_shows_one_job_with_its_logs_and_callbacks(bob, bob_api):
    processo_id = uuid.uuid4()
    completed = timezone.now()
    job = make_job(bob, status=JobStatus.COMPLETED, progress=100, result="jobs/fatura.pdf",
                   processo_id=processo_id, started_at=completed - timedelta(seconds=20), completed_at=completed)
    JobLog.objects.create(job=job, message="Iniciando", timestamp=completed - timedelta(seconds=10))
    JobLog.objects.create(job=job, level=JobLog.Level.WARNING, message="Portal lento",
                          timestamp=completed - timedelta(seconds=5))
    delivery = CallbackDelivery.objects.create(job=job, job_ref=job.id, processo_id=processo_id,
                                               status="COMPLETED", state=CallbackDelivery.State.DELIVERED,
                                               attempts=1, delivered_at=completed)
    CallbackAttempt.objects.create(delivery=delivery, attempt=1, method="PUT", url="http://processo/api/x",
                                   http_status=200, ok=True)

    response = bob_api.get(detail_url(job.id))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == JOB_FIELDS | {"logs", "callbacks"}
    assert body["id"] == str(job.id)
    assert body["result"] == "jobs/fatura.pdf"
    assert body["processo_id"] == str(processo_id)
    assert [(log["level"], log["message"]) for log in body["logs"]] == [("INFO", "Iniciando"),
                                                                       ("WARNING", "Portal lento")]
    assert all(set(log) == {"timestamp", "level", "message"} for log in body["logs"])
    [callback] = body["callbacks"]
    assert set(callback) == {"processo_id", "status", "state", "attempts", "next_attempt_at", "delivered_at",
                             "attempt_log"}
    assert callback["processo_id"] == str(processo_id)
    assert (callback["status"], callback["state"], callback["attempts"]) == ("COMPLETED", "DELIVERED", 1)
    [attempt] = callback["attempt_log"]
    assert set(attempt) == {"attempt", "attempted_at", "method", "url", "http_status", "error", "ok"}
    assert (attempt["attempt"], attempt["method"], attempt["http_status"], attempt["ok"]) == (1, "PUT", 200, True)
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_a_job_without_logs_or_callbacks_shows_empty_lists(bob, bob_api):
    job = make_job(bob)

    body = bob_api.get(detail_url(job.id)).json()

    assert body["logs"] == []
    assert body["callbacks"] == []


@pytest.mark.django_db
def test_a_user_cannot_see_another_users_job(charlie, bob_api):
    job = make_job(charlie)

    response = bob_api.get(detail_url(job.id))

    assert response.status_code == 404
    assert "id" not in response.json()


@pytest.mark.django_db
def test_staff_can_see_another_users_job(charlie, alice_api):
    job = make_job(charlie)

    response = alice_api.get(detail_url(job.id))

    assert response.status_code == 200
    assert response.json()["id"] == str(job.id)
    assert_no_secret_in(response)


@pytest.mark.django_db
def test_an_unknown_job_is_404(bob_api):
    assert bob_api.get(detail_url(uuid.uuid4())).status_code == 404


@pytest.mark.django_db
def test_a_malformed_job_id_is_404(bob_api):
    assert bob_api.get(f"{JOBS}not-a-uuid/").status_code == 404


@pytest.mark.django_db
def test_it_refuses_an_unauthenticated_detail(bob):
    job = make_job(bob)

    response = APIClient().get(detail_url(job.id))

    assert response.status_code == 401
    assert "id" not in response.json()
