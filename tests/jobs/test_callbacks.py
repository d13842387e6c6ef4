"""The processo callback (seed 003 §3.3) against a local processo API."""

import uuid

import pytest
from django.utils import timezone

from jobs.models import CallbackDelivery, Job, JobStatus
from jobs.services import callbacks, lifecycle
from tests.jobs.helpers import carrier_payload, wait_for, wait_until_finished


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_delivers_the_status_after_the_api_failed_twice(module_workers, alice_api, fake_processo, settings):
    settings.PROCESSO_API_URL = fake_processo.url  # the workers were started with it too
    processo_id = str(uuid.uuid4())
    fake_processo.fail_first[processo_id] = 2
    job_id = alice_api.post("/executar/OI", carrier_payload("sleep:0.1", processo_id=processo_id),
                            format="json").json()["job_id"]
    job = wait_until_finished(job_id)
    assert job.status == JobStatus.COMPLETED  # a failing callback never fails the job

    def delivered():
        callbacks.callbacks_deliver_due()  # what the maintenance pass does every 30 s
        return CallbackDelivery.objects.filter(job_ref=job_id, state=CallbackDelivery.State.DELIVERED).first()

    delivery = wait_for(delivered, timeout=30, interval=0.3, message="the callback to be delivered")
    assert delivery.attempts == 3
    assert fake_processo.accepted[processo_id] == [{"status": "COMPLETED"}]
    attempts = list(delivery.attempt_log.values_list("attempt", "method", "http_status", "ok"))
    # Attempts 1 and 2: the first form answers 503, the fallbacks 404; attempt 3: accepted at once.
    assert attempts == [
        (1, "PUT", 503, False), (1, "PUT", 404, False), (1, "PATCH", 404, False),
        (2, "PUT", 503, False), (2, "PUT", 404, False), (2, "PATCH", 404, False),
        (3, "PUT", 200, True),
    ]
    urls = [url for url, in delivery.attempt_log.values_list("url")[:3]]
    assert urls == [
        f"{fake_processo.url}/api/processos/{processo_id}/status",
        f"{fake_processo.url}/processos/{processo_id}/status",
        f"{fake_processo.url}/api/processos/{processo_id}",
    ]
    detail = alice_api.get(f"/api/v1/jobs/{job_id}/").json()
    assert detail["callbacks"][0]["state"] == "DELIVERED"
    assert len(detail["callbacks"][0]["attempt_log"]) == 7


@pytest.mark.django_db
def test_a_failed_job_reports_failed_to_the_processo(alice, fake_processo, settings):
    settings.PROCESSO_API_URL = fake_processo.url
    job = _running_job(alice, processo_id=uuid.uuid4())
    lifecycle.job_fail(job_id=job.id, error="Falha de autenticação", category="auth")
    delivery = CallbackDelivery.objects.get(job_ref=job.id)
    callbacks.callback_deliver(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.DELIVERED
    assert fake_processo.accepted[str(job.processo_id)] == [{"status": "FAILED"}]


@pytest.mark.django_db
def test_a_job_without_processo_id_owes_no_callback(alice):
    job = _running_job(alice)
    lifecycle.job_complete(job_id=job.id, result="faturas/x.pdf")
    assert not CallbackDelivery.objects.exists()


@pytest.mark.django_db
def test_an_attempt_is_never_made_twice_for_the_same_turn(alice, fake_processo, settings):
    settings.PROCESSO_API_URL = fake_processo.url
    job = _running_job(alice, processo_id=uuid.uuid4())
    fake_processo.fail_first[str(job.processo_id)] = 1
    lifecycle.job_complete(job_id=job.id, result="faturas/x.pdf")
    delivery = CallbackDelivery.objects.get(job_ref=job.id)

    callbacks.callback_deliver(delivery_id=delivery.id)
    # Not due yet (backing off): a second call, e.g. from a duplicate task, does nothing.
    assert callbacks.callback_deliver(delivery_id=delivery.id) is None
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.next_attempt_at > timezone.now()
    assert len(fake_processo.requests[str(job.processo_id)]) == 3


@pytest.mark.django_db
def test_it_gives_up_after_the_last_attempt_and_keeps_the_record(alice, settings):
    settings.PROCESSO_API_URL = "http://127.0.0.1:9"  # nothing listens: connection refused
    settings.PROCESSO_CALLBACK_MAX_ATTEMPTS = 2
    job = _running_job(alice, processo_id=uuid.uuid4())
    lifecycle.job_complete(job_id=job.id, result="faturas/x.pdf")
    delivery = CallbackDelivery.objects.get(job_ref=job.id)
    callbacks.callback_deliver(delivery_id=delivery.id)
    CallbackDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    callbacks.callback_deliver(delivery_id=delivery.id)
    delivery.refresh_from_db()
    assert delivery.state == CallbackDelivery.State.ABANDONED
    assert delivery.attempts == 2
    assert delivery.attempt_log.count() == 6
    assert all(a.error.startswith("falha de conexão") for a in delivery.attempt_log.all())


def test_backoff_doubles_and_is_capped(settings):
    settings.PROCESSO_CALLBACK_BACKOFF_SECONDS = 30
    settings.PROCESSO_CALLBACK_BACKOFF_MAX_SECONDS = 3600
    assert [callbacks.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [30, 60, 120, 3600]


def _running_job(owner, processo_id=None) -> Job:
    job = Job.objects.create(kind="OI", owner=owner, params={"filtro": "1"}, secrets={"login": "a", "senha": "b"},
                             processo_id=processo_id)
    return lifecycle.job_start(job_id=job.id)
