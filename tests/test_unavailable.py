"""An outage of Redis or the database is a 503 with Retry-After and a sentence, never a 500 page."""

import pytest
from django.test import Client

from tests.conftest import bearer_client


@pytest.fixture
def redis_down(settings, tmp_path):
    gone = f"unix://{tmp_path / 'no-redis.sock'}"
    settings.RQ_QUEUES = {name: {**queue, "URL": gone} for name, queue in settings.RQ_QUEUES.items()}


@pytest.mark.django_db
def test_an_api_call_that_needs_redis_gets_a_503_naming_it(alice, redis_down):
    client = bearer_client(alice)
    client.raise_request_exception = False
    response = client.post("/api/v1/ws-tickets/", format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"detail": "Serviço temporariamente indisponível: Redis (fila de execução) fora do ar. "
                                         "Nada foi alterado; tente novamente em 5 segundos."}


@pytest.mark.django_db(transaction=True)
def test_creating_a_job_while_redis_is_down_is_a_503_with_retry_after_and_leaves_no_job(alice, redis_down):
    from jobs.models import Job

    client = bearer_client(alice)
    response = client.post("/executar/OI", {"login": "a@b.com", "senha": "x", "cnpj": "12.345.678/0001-95",
                                            "filtro": "1"}, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "o job não foi criado" in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.django_db
def test_a_page_that_meets_an_outage_is_a_page_of_the_console_not_a_technical_one(django_user_model, redis_down,
                                                                                 settings):
    settings.DEBUG = True  # even so
    client = Client(raise_request_exception=False)
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "root-pass"))
    response = client.get("/admin/django-rq/", HTTP_ACCEPT="text/html")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Console de Operações" in page and "Redis (fila de execução) fora do ar" in page
    assert "Traceback" not in page
