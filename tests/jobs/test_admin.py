import uuid

import pytest

from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobArtifact
from jobs.services import lifecycle


@pytest.fixture
def staff_client(client, alice):
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


@pytest.mark.django_db
def test_the_job_page_shows_logs_and_every_callback_attempt(staff_client, alice):
    job = Job.objects.create(kind="OI", owner=alice, status="COMPLETED", processo_id=uuid.uuid4(),
                             secrets={"login": "a", "senha": "b"})
    job.logs.create(message="Iniciando processamento da operadora OI")
    delivery = CallbackDelivery.objects.create(job=job, job_ref=job.id, processo_id=job.processo_id,
                                               status="COMPLETED", attempts=1)
    CallbackAttempt.objects.create(delivery=delivery, attempt=1, method="PUT",
                                   url=f"http://processo/api/processos/{job.processo_id}/status", http_status=503)
    page = staff_client.get(f"/admin/jobs/job/{job.pk}/change/").content.decode()
    assert "Iniciando processamento da operadora OI" in page
    assert f"http://processo/api/processos/{job.processo_id}/status" in page
    assert "503" in page


@pytest.mark.django_db
def test_the_job_list_filters_by_status_and_searches_by_processo(staff_client, alice):
    processo_id = uuid.uuid4()
    wanted = Job.objects.create(kind="VIVO", owner=alice, status="FAILED", processo_id=processo_id)
    other = Job.objects.create(kind="OI", owner=alice, status="COMPLETED")
    by_status = staff_client.get("/admin/jobs/job/?status__exact=FAILED").content.decode()
    assert str(wanted.id) in by_status and str(other.id) not in by_status
    by_search = staff_client.get(f"/admin/jobs/job/?q={processo_id}").content.decode()
    assert str(wanted.id) in by_search and str(other.id) not in by_search


@pytest.mark.django_db
def test_staff_can_ask_for_an_undelivered_callback_to_be_retried_now(staff_client, alice):
    from datetime import timedelta

    from django.utils import timezone

    delivery = CallbackDelivery.objects.create(job_ref=uuid.uuid4(), processo_id=uuid.uuid4(), status="FAILED",
                                               next_attempt_at=timezone.now() + timedelta(hours=1))
    staff_client.post("/admin/jobs/callbackdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]})
    delivery.refresh_from_db()
    assert delivery.next_attempt_at <= timezone.now()


@pytest.mark.django_db
def test_staff_download_a_failure_screenshot_and_page_source_from_the_job_page(staff_client, alice, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = Job.objects.create(kind="OI", owner=alice, status="FAILED", params={}, secrets={}, error="x")
    png = lifecycle.job_artifact_save(job_id=job.id, name="falha_tela.png", content=b"\x89PNG fake")
    html = lifecycle.job_artifact_save(job_id=job.id, name="falha_pagina.html", content=b"<html>pagina</html>")
    page = staff_client.get(f"/admin/jobs/job/{job.id}/change/").content.decode()
    links = [a.file.name for a in JobArtifact.objects.filter(job=job)]
    assert set(links) == {png, html}

    for artifact in JobArtifact.objects.filter(job=job):
        url = f"/admin/jobs/job/{job.id}/artifacts/{artifact.pk}/"
        assert url in page
        response = staff_client.get(url)
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        if artifact.name == "falha_tela.png":
            assert body == b"\x89PNG fake" and "attachment" not in response.get("Content-Disposition", "")
        else:
            assert body == b"<html>pagina</html>" and "attachment" in response["Content-Disposition"]
    assert staff_client.get(url.replace(str(job.id), str(uuid.uuid4()))).status_code == 404


@pytest.mark.django_db
def test_artifacts_are_not_downloadable_without_a_staff_login(client, django_user_model, alice, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = Job.objects.create(kind="OI", owner=alice, status="FAILED", params={}, secrets={}, error="x")
    lifecycle.job_artifact_save(job_id=job.id, name="falha_tela.png", content=b"\x89PNG fake")
    url = f"/admin/jobs/job/{job.id}/artifacts/{JobArtifact.objects.get(job=job).pk}/"

    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(django_user_model.objects.create_user("dora", password="x", is_staff=True))
    assert client.get(url).status_code == 403  # staff, but without the permission to view jobs


# --- read-only pages, short ids, seconds ----------------------------------------------------

def reader_client(client, django_user_model):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user("leo", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="Leitura"))
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["superuser", "reader"])
def test_job_and_delivery_pages_only_show_without_save_or_delete(client, django_user_model, alice, who):
    if who == "superuser":
        alice.is_superuser = True
        alice.save()
        client.force_login(alice)
    else:
        reader_client(client, django_user_model)
    job = Job.objects.create(kind="OI", owner=alice, status="FAILED", error="x", processo_id=uuid.uuid4())
    delivery = CallbackDelivery.objects.create(job=job, job_ref=job.id, processo_id=job.processo_id, status="FAILED")

    for url in (f"/admin/jobs/job/{job.pk}/change/", f"/admin/jobs/callbackdelivery/{delivery.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert 'name="_save"' not in html and 'name="_continue"' not in html and "deletelink" not in html
        assert client.post(url, {"status": "COMPLETED"}).status_code == 403
    assert client.get(f"/admin/jobs/job/{job.pk}/delete/").status_code == 403
    job.refresh_from_db()
    assert job.status == "FAILED"


@pytest.mark.django_db
def test_asking_for_a_callback_retry_needs_the_change_permission(client, django_user_model):
    from datetime import timedelta

    from django.utils import timezone

    reader_client(client, django_user_model)
    later = timezone.now() + timedelta(hours=1)
    delivery = CallbackDelivery.objects.create(job_ref=uuid.uuid4(), processo_id=uuid.uuid4(), status="FAILED",
                                               next_attempt_at=later)

    listing = client.get("/admin/jobs/callbackdelivery/").content.decode()
    client.post("/admin/jobs/callbackdelivery/", {"action": "retry_now", "_selected_action": [delivery.pk]})

    assert "retry_now" not in listing
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == later


@pytest.mark.django_db
def test_the_job_list_shows_short_ids_and_times_with_seconds(staff_client, alice):
    from datetime import UTC, datetime

    processo_id = uuid.uuid4()
    job = Job.objects.create(kind="EMBRATEL", owner=alice, status="COMPLETED", progress=100, processo_id=processo_id,
                             created_at=datetime(2026, 12, 2, 11, 15, 30, tzinfo=UTC),
                             completed_at=datetime(2026, 12, 2, 11, 16, 5, tzinfo=UTC))

    html = staff_client.get("/admin/jobs/job/").content.decode()

    assert f'<span title="{job.id}">{str(job.id)[:8]}</span>' in html
    assert f'<span title="{processo_id}">{str(processo_id)[:8]}</span>' in html
    assert f">{job.id}<" not in html and f">{processo_id}<" not in html
    assert "02/12/2026 08:15:30" in html and "02/12/2026 08:16:05" in html  # São Paulo time, with seconds
    assert ">100%<" in html
    for title in ("Por criado em", "Por operadora"):
        assert title in html


@pytest.mark.django_db
def test_error_categories_read_in_portuguese_and_filter_the_list(staff_client, alice):
    refused = Job.objects.create(kind="OI", owner=alice, status="FAILED", error="Senha recusada", error_category="auth")
    slow = Job.objects.create(kind="VIVO", owner=alice, status="FAILED", error="Demorou", error_category="timeout")
    Job.objects.create(kind="VIVO", owner=alice, status="FAILED", error="Senha recusada", error_category="auth")

    listing = staff_client.get("/admin/jobs/job/").content.decode()
    filtered = staff_client.get("/admin/jobs/job/?error_category=auth").content.decode()
    page = staff_client.get(f"/admin/jobs/job/{refused.pk}/change/").content.decode()

    assert "Por categoria do erro" in listing
    assert listing.count('<a href="?error_category=auth">Autenticação</a>') == 1
    assert '<a href="?error_category=timeout">Tempo esgotado</a>' in listing
    assert str(refused.id) in filtered and str(slow.id) not in filtered
    assert '<div class="readonly">Autenticação</div>' in page
