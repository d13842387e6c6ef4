"""The dashboard pages as the server renders them: who may open them, filters, the new job form,
retry, downloads, and the JSON/fragments the live script falls back to."""

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.utils import timezone

from jobs.models import CallbackAttempt, CallbackDelivery, Job, JobLog
from jobs.services import lifecycle

pytestmark = pytest.mark.django_db

PAGES = ["/painel/", "/painel/jobs/", "/painel/jobs/novo/OI/"]


@pytest.fixture
def staff(client, alice):
    """Alice, staff, allowed to start jobs."""
    alice.user_permissions.add(Permission.objects.get(codename="add_job"))
    client.force_login(alice)
    return client


@pytest.fixture
def viewer(client, django_user_model):
    """Staff who may look but not start or retry jobs."""
    user = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    client.force_login(user)
    return client


def make_job(owner, status=Job.Status.FAILED, kind="OI", **fields) -> Job:
    return Job.objects.create(
        kind=kind, owner=owner, status=status, params={"filtro": "12345678", "cnpj": "12.345.678/0001-95"},
        secrets={"login": "cliente@empresa.com.br", "senha": "sandbox123"}, **fields,
    )


class TestAccess:
    @pytest.mark.parametrize("path", PAGES)
    def test_anonymous_visitors_are_sent_to_the_login(self, client, path):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")

    @pytest.mark.parametrize("path", PAGES[:2])
    def test_people_who_are_not_staff_are_sent_to_the_login(self, client, bob, path):
        client.force_login(bob)
        assert client.get(path).status_code == 302

    @pytest.mark.parametrize("path", PAGES[:2])
    def test_staff_see_the_pages(self, staff, path):
        response = staff.get(path)
        assert response.status_code == 200
        assert b'src="/static/js/live.js"' in response.content

    def test_without_the_add_job_permission_no_form_and_no_buttons(self, viewer, bob):
        job = make_job(bob)
        assert viewer.get("/painel/jobs/novo/OI/").status_code == 403
        assert viewer.post(f"/painel/jobs/{job.id}/repetir").status_code == 403
        page = viewer.get(f"/painel/jobs/{job.id}/").content.decode()
        assert "Repetir job" not in page and "Novo job" not in page


class TestJobsList:
    def test_filters_by_status_carrier_and_date(self, staff, bob):
        failed = make_job(bob, kind="VIVO")
        make_job(bob, status=Job.Status.COMPLETED, kind="VIVO")
        make_job(bob, kind="OI")
        old = make_job(bob, kind="VIVO", created_at=timezone.now() - timedelta(days=3))
        response = staff.get("/painel/jobs/", {"status": "FAILED", "kind": "VIVO",
                                               "created_from": timezone.localdate().isoformat()})
        shown = [job.id for job in response.context["page"].object_list]
        assert shown == [failed.id]
        assert old.id not in shown

    def test_a_bad_filter_is_named_and_the_list_is_not_filtered_by_it(self, staff, bob):
        make_job(bob)
        response = staff.get("/painel/jobs/", {"status": "BROKEN", "created_from": "ontem"})
        page = response.content.decode()
        assert response.status_code == 200
        assert "Faça uma escolha válida" in page and "Informe uma data válida" in page

    def test_a_date_range_backwards_is_refused(self, staff):
        response = staff.get("/painel/jobs/", {"created_from": "2026-11-20", "created_to": "2026-11-01"})
        assert "A data final é anterior à inicial." in response.content.decode()

    def test_pages_of_25(self, staff, bob):
        for _ in range(30):
            make_job(bob)
        first = staff.get("/painel/jobs/")
        second = staff.get("/painel/jobs/", {"pagina": 2})
        assert len(first.context["page"].object_list) == 25
        assert len(second.context["page"].object_list) == 5
        assert staff.get("/painel/jobs/", {"pagina": "x"}).status_code == 200

    def test_the_row_of_a_new_job_and_filters_that_leave_it_out(self, staff, bob):
        job = make_job(bob, kind="SAT")
        row = staff.get(f"/painel/jobs/{job.id}/linha")
        assert row.status_code == 200 and f'data-job-id="{job.id}"'.encode() in row.content
        assert staff.get(f"/painel/jobs/{job.id}/linha", {"kind": "OI"}).status_code == 204
        assert staff.get(f"/painel/jobs/{uuid.uuid4()}/linha").status_code == 404


class TestJobsListTriage:
    def test_a_failed_job_shows_its_reason(self, staff, bob):
        long_error = "Falha de autenticação no portal da VIVO: " + "usuário ou senha inválidos; " * 10
        make_job(bob, kind="VIVO", error=long_error, error_category="auth")
        make_job(bob, status=Job.Status.COMPLETED, result="faturas/oi_202401.pdf")

        page = staff.get("/painel/jobs/").content.decode()

        reasons = re.findall(r'<td class="col-reason" data-reason>(.*?)</td>', page, re.S)
        assert len(reasons) == 2
        failed = next(reason for reason in reasons if reason)
        assert '<span class="reason-category">Autenticação</span>' in failed
        assert "Falha de autenticação no portal da VIVO: usuário ou senha inválidos;" in failed
        assert len(re.sub(r"<[^>]+>", "", failed)) < 120  # short; the whole sentence is in its title
        assert "" in reasons  # the completed job has no reason

    def test_failure_category_filter(self, staff, bob):
        auth = make_job(bob, error="x", error_category="auth")
        make_job(bob, error="y", error_category="timeout")

        response = staff.get("/painel/jobs/", {"error_category": "auth"})

        assert [job.id for job in response.context["page"].object_list] == [auth.id]

    def test_a_browser_lost_mid_job_has_its_own_category(self, staff, bob):
        lost = make_job(bob, error="O navegador do nó da Grid parou no meio do job.", error_category="browser")
        make_job(bob, error="x", error_category="timeout")

        response = staff.get("/painel/jobs/", {"error_category": "browser"})

        assert [job.id for job in response.context["page"].object_list] == [lost.id]
        assert '<span class="reason-category">Navegador perdido</span>' in response.content.decode()

    def test_search_by_id_filtro_cnpj_and_processo(self, staff, bob):
        processo = uuid.uuid4()
        target = make_job(bob, processo_id=processo)
        Job.objects.filter(pk=target.pk).update(params={"filtro": "FILTRO-77001", "cnpj": "11.444.777/0001-61"})
        make_job(bob)

        def found(search: str) -> list:
            return [job.id for job in staff.get("/painel/jobs/", {"search": search}).context["page"].object_list]

        assert found(str(target.id)) == [target.id]
        assert found(str(target.id)[:8]) == [target.id]
        assert found("filtro-77") == [target.id]
        assert found("11444777000161") == [target.id]
        assert found("11.444.777/0001-61") == [target.id]
        assert found(str(processo)) == [target.id]
        assert found("nada-disso") == []

    def test_the_csv_export_has_the_lists_filters_and_no_secret(self, staff, bob):
        wanted = make_job(bob, kind="VIVO", error="=HYPERLINK(\"http://x\")", error_category="navigation")
        Job.objects.filter(pk=wanted.pk).update(params={"filtro": "+5511999", "cnpj": "12.345.678/0001-95"})
        make_job(bob, kind="OI", status=Job.Status.COMPLETED)

        response = staff.get("/painel/jobs/exportar.csv", {"kind": "VIVO", "status": "FAILED"})

        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith('attachment; filename="jobs-')
        body = b"".join(response.streaming_content).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(body), delimiter=";"))
        assert rows[0][:4] == ["job_id", "operadora", "status", "progresso"]
        assert [row[0] for row in rows[1:]] == [str(wanted.id)]
        row = dict(zip(rows[0], rows[1], strict=True))
        # Cells a spreadsheet would run as formulas are written as text.
        assert row["erro"] == "'=HYPERLINK(\"http://x\")" and row["filtro"] == "'+5511999"
        assert row["categoria_falha"] == "navigation" and row["criado_por"] == "bob"
        assert "sandbox123" not in body and "cliente@empresa.com.br" not in body

    def test_the_csv_export_searches_like_the_page(self, staff, bob):
        target, other = make_job(bob), make_job(bob)

        body = b"".join(staff.get("/painel/jobs/exportar.csv", {"search": str(target.id)[:8]}).streaming_content)

        assert str(target.id).encode() in body and str(other.id).encode() not in body

    def test_the_list_links_its_csv_with_its_filters(self, staff):
        page = staff.get("/painel/jobs/", {"status": "FAILED", "error_category": "auth"}).content.decode()
        assert 'href="/painel/jobs/exportar.csv?status=FAILED&amp;error_category=auth"' in page

    def test_the_csv_export_needs_staff(self, client, bob):
        client.force_login(bob)
        assert client.get("/painel/jobs/exportar.csv").status_code == 302


class TestJobDetail:
    def test_shows_logs_error_evidence_and_retry(self, staff, bob):
        job = make_job(bob, error="Falha de autenticação no portal da OI: Senha incorreta", error_category="auth")
        JobLog.objects.create(job=job, level="ERROR", message="Senha incorreta")
        lifecycle.job_artifact_save(job_id=job.id, name="falha_tela.png", content=b"\x89PNG\r\n\x1a\n")
        page = staff.get(f"/painel/jobs/{job.id}/").content.decode()
        assert "Senha incorreta" in page and "Repetir com nova senha" in page
        assert "falha_tela.png" in page and "<img" in page
        assert "sandbox123" not in page and "cliente@empresa.com.br" not in page

    def test_unknown_ids_are_404(self, staff):
        assert staff.get(f"/painel/jobs/{uuid.uuid4()}/").status_code == 404
        assert staff.get("/painel/jobs/not-a-uuid/").status_code == 404

    def test_the_timeline_is_served_alone_for_the_live_page(self, staff, bob):
        job = make_job(bob, status=Job.Status.RUNNING, started_at=timezone.now())

        fragment = staff.get(f"/painel/jobs/{job.id}/", {"parte": "linha-do-tempo"}).content.decode()

        assert fragment.lstrip().startswith('<ol class="timeline">')
        assert '<li class="done" data-step="started">' in fragment and "aguardando worker" not in fragment

    def test_the_state_json_gives_log_lines_after_an_id(self, staff, bob):
        job = make_job(bob, status=Job.Status.RUNNING, progress=40)
        first = JobLog.objects.create(job=job, message="um")
        JobLog.objects.create(job=job, message="dois")
        body = staff.get(f"/painel/jobs/{job.id}/estado.json", {"depois": first.id}).json()
        assert body["data"] == {"status": "RUNNING", "progress": 40, "operadora": "OI"}
        assert [line["message"] for line in body["logs"]] == ["dois"]
        bad = staff.get(f"/painel/jobs/{job.id}/estado.json", {"depois": "x"})
        assert bad.status_code == 400 and "depois" in bad.json()["detail"]

    def test_a_completed_jobs_invoice_downloads(self, staff, bob):
        path = default_storage.save("faturas/oi_teste.pdf", ContentFile(b"%PDF-1.4 x"))
        job = make_job(bob, status=Job.Status.COMPLETED, result=path, progress=100)
        response = staff.get(f"/painel/jobs/{job.id}/resultado")
        assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 x"
        default_storage.delete(path)
        assert staff.get(f"/painel/jobs/{job.id}/resultado").status_code == 404

    def test_an_artifact_of_another_job_is_not_found(self, staff, bob):
        job, other = make_job(bob), make_job(bob)
        lifecycle.job_artifact_save(job_id=job.id, name="falha_pagina.html", content=b"<html></html>")
        artifact = job.artifacts.get()
        assert staff.get(f"/painel/jobs/{job.id}/artefatos/{artifact.id}").status_code == 200
        assert staff.get(f"/painel/jobs/{other.id}/artefatos/{artifact.id}").status_code == 404


    def test_processo_deliveries_show_their_latest_attempts_newest_first(self, staff, alice, bob):
        job = make_job(bob, processo_id=uuid.uuid4())
        delivery = CallbackDelivery.objects.create(job=job, job_ref=job.id, processo_id=job.processo_id,
                                                   status="FAILED", attempts=7)
        for attempt in range(1, 8):
            for method, path in [("PUT", "/api/processos/x/status"), ("PUT", "/processos/x/status"),
                                 ("PATCH", "/api/processos/x")]:
                CallbackAttempt.objects.create(delivery=delivery, attempt=attempt, method=method,
                                               url=f"http://processo.test{path}?try={attempt}", http_status=503)

        page = staff.get(f"/painel/jobs/{job.id}/").content.decode()
        shown = [n for n in range(1, 8) if f"?try={n}" in page]
        assert shown == [3, 4, 5, 6, 7]
        assert page.index("?try=7") < page.index("?try=3")
        assert "7 tentativas" in page and "2 tentativas anteriores" in page
        assert "próxima tentativa" in page
        # Alice may not open the outbox in the admin: no link she could not follow.
        assert f"/admin/jobs/callbackdelivery/{delivery.pk}/" not in page

        alice.user_permissions.add(Permission.objects.get(codename="view_callbackdelivery"))
        page = staff.get(f"/painel/jobs/{job.id}/").content.decode()
        assert f"/admin/jobs/callbackdelivery/{delivery.pk}/" in page


class TestNewJobForm:
    def test_the_same_messages_as_the_api(self, staff, alice_api):
        data = {"login": "a@b.c", "senha": "x", "filtro": "1", "cnpj": "11.111.111/1111-11"}
        page = staff.post("/painel/jobs/novo/OI/", data)
        api = alice_api.post("/executar/OI", data, format="json").json()
        assert page.status_code == 422
        api_message = next(item["msg"] for item in api["detail"] if item["loc"][-1] == "cnpj")
        assert api_message in page.content.decode()
        assert Job.objects.count() == 0

    def test_missing_fields_are_named_and_the_password_is_not_sent_back(self, staff):
        page = staff.post("/painel/jobs/novo/VIVO/", {"login": "a@b.c", "senha": "segredo"}).content.decode()
        assert page.count('class="field-error"') == 2  # filtro and cnpj
        assert "segredo" not in page
        assert 'value="a@b.c"' in page

    def test_a_valid_form_creates_the_job_and_opens_it(self, staff, alice):
        data = {"login": "a@b.c", "senha": "x", "filtro": "12345678", "cnpj": "12345678000195"}
        response = staff.post("/painel/jobs/novo/DIGITALNET/", data)
        job = Job.objects.get()
        assert response.status_code == 302 and response["Location"] == f"/painel/jobs/{job.id}/"
        assert (job.kind, job.owner, job.params["filtro"]) == ("DIGITALNET", alice, "12345678")
        assert job.secrets == {"login": "a@b.c", "senha": "x"}

    def test_the_sat_form_has_the_sat_fields(self, staff):
        page = staff.get("/painel/jobs/novo/SAT/").content.decode()
        for name in ("razao", "nome_filtro", "dados_sat", "nome_arquivo", "data_vencimento"):
            assert f'name="{name}"' in page

    def test_the_due_date_hint_matches_its_label(self, staff):
        page = staff.get("/painel/jobs/novo/SAT/").content.decode()
        field = page[page.index('<label for="id_data_vencimento"'):]
        field = field[:field.index("</div>")]
        assert "DD/MM/AAAA" in field and "YYYY" not in field

    def test_the_processo_field_says_it_takes_a_uuid(self, staff):
        page = staff.get("/painel/jobs/novo/OI/").content.decode()
        field = page[page.index('<label for="id_processo_id"'):]
        assert "UUID" in field[:field.index("</div>")]

    def test_a_processo_that_is_not_a_uuid_is_named_in_portuguese(self, staff):
        data = {"login": "a@b.c", "senha": "x", "filtro": "1", "cnpj": "12345678000195", "processo_id": "123"}

        page = staff.post("/painel/jobs/novo/OI/", data)

        assert page.status_code == 422
        assert "Informe o UUID do processo" in page.content.decode()
        assert "value is not a valid uuid" not in page.content.decode()
        assert Job.objects.count() == 0

    def test_the_sat_operadora_is_picked_from_the_carriers(self, staff):
        page = staff.get("/painel/jobs/novo/SAT/").content.decode()
        picker = page[page.index('<select name="operadora"'):]
        picker = picker[:picker.index("</select>")]
        assert [f'<option value="{kind}"' in picker for kind in ("OI", "VIVO", "EMBRATEL", "DIGITALNET")] == [True] * 4

    def test_an_unknown_carrier_is_404(self, staff):
        assert staff.get("/painel/jobs/novo/CLARO/").status_code == 404


class TestRetry:
    def test_a_failed_job_is_retried_with_the_same_parameters(self, staff, bob, alice):
        failed = make_job(bob, processo_id=uuid.uuid4())
        response = staff.post(f"/painel/jobs/{failed.id}/repetir")
        retry = Job.objects.exclude(pk=failed.pk).get()
        assert response["Location"] == f"/painel/jobs/{retry.id}/"
        assert (retry.kind, retry.params, retry.secrets, retry.processo_id) == (
            failed.kind, failed.params, failed.secrets, failed.processo_id)
        assert retry.owner == alice and retry.status == Job.Status.PENDING
        assert retry.logs.filter(message__contains=str(failed.id)).exists()

    def test_only_failed_jobs_are_retried(self, staff, bob):
        done = make_job(bob, status=Job.Status.COMPLETED)
        response = staff.post(f"/painel/jobs/{done.id}/repetir", follow=True)
        assert "Só um job que falhou pode ser repetido." in response.content.decode()
        assert Job.objects.count() == 1

    def test_retry_needs_post(self, staff, bob):
        assert staff.get(f"/painel/jobs/{make_job(bob).id}/repetir").status_code == 405


class TestOverview:
    def test_the_queued_figure_counts_what_its_caption_says(self, staff, bob):
        # Jobs waiting for a worker or for their portal account: PENDING, whether or not rq holds them.
        for _ in range(3):
            make_job(bob, status=Job.Status.PENDING)

        page = staff.get("/painel/").content.decode()

        figure = re.search(r'<span class="stat-label">Na fila</span><strong class="stat-value"[^>]*>([^<]*)</strong>'
                           r'<span class="muted small">([^<]*)</span>', page)
        assert figure.groups() == ("3", "jobs aguardando execução")

    def test_each_card_opens_the_list_it_counts(self, staff, bob):
        now = timezone.now()
        make_job(bob, status=Job.Status.PENDING)
        make_job(bob, status=Job.Status.RUNNING)
        make_job(bob, status=Job.Status.COMPLETED, completed_at=now - timedelta(hours=1))
        make_job(bob, status=Job.Status.COMPLETED, completed_at=now - timedelta(hours=30))
        for hours in (2, 3):
            make_job(bob, status=Job.Status.FAILED, completed_at=now - timedelta(hours=hours))
        make_job(bob, status=Job.Status.FAILED, completed_at=now - timedelta(hours=25))

        page = staff.get("/painel/").content.decode()

        for card, expected in (("pending", 1), ("running", 1), ("completed", 1), ("failed", 2)):
            tag = page[page.rindex("<a ", 0, page.index(f'data-card="{card}"')):]
            href = tag[tag.index('href="') + 6:tag.index('"', tag.index('href="') + 6)].replace("&amp;", "&")
            assert f'data-stat="{card}">{expected}</strong>' in tag
            listed = staff.get(href)
            assert listed.status_code == 200 and listed.context["page"].paginator.count == expected, card

    def test_the_workers_card_opens_the_queues_only_for_who_may_use_them(self, staff, alice, admin_client):
        assert 'href="/admin/django-rq/"' not in staff.get("/painel/").content.decode()
        assert 'href="/admin/django-rq/"' in admin_client.get("/painel/").content.decode()

class TestRetryAfterAnAuthenticationFailure:
    @pytest.fixture
    def refused(self, bob) -> Job:
        return make_job(bob, kind="VIVO", error="Falha de autenticação no portal da VIVO: senha inválida",
                        error_category="auth")

    def test_retry_asks_for_the_new_password(self, staff, refused):
        page = staff.get(f"/painel/jobs/{refused.id}/").content.decode()
        assert f'href="/painel/jobs/{refused.id}/repetir"' in page and "Repetir com nova senha" in page

        form = staff.get(f"/painel/jobs/{refused.id}/repetir")
        assert form.status_code == 200
        assert 'name="senha"' in form.content.decode() and 'name="login"' in form.content.decode()
        assert "sandbox123" not in form.content.decode() and "cliente@empresa.com.br" not in form.content.decode()

    def test_the_same_password_is_never_sent_again(self, staff, refused, rpa_queue):
        response = staff.post(f"/painel/jobs/{refused.id}/repetir")

        assert response.status_code == 422
        assert "Informe a nova senha do portal." in response.content.decode()
        assert Job.objects.count() == 1 and rpa_queue.count == 0

    def test_the_retry_runs_with_the_new_password_kept_encrypted(self, staff, refused, rpa_queue):
        response = staff.post(f"/painel/jobs/{refused.id}/repetir", {"senha": "Nova-Senha-2024"})

        retry = Job.objects.exclude(pk=refused.pk).get()
        assert response["Location"] == f"/painel/jobs/{retry.id}/"
        assert retry.secrets == {"login": "cliente@empresa.com.br", "senha": "Nova-Senha-2024"}
        assert retry.params == refused.params
        with connection.cursor() as cursor:
            cursor.execute("SELECT secrets FROM jobs_job WHERE id = %s", [retry.id.hex if connection.vendor == "sqlite"
                                                                          else retry.id])
            stored = cursor.fetchone()[0]
        assert "Nova-Senha-2024" not in stored and "cliente@empresa" not in stored
        assert retry.account_key == lifecycle.account_key_for(kind="VIVO", login="cliente@empresa.com.br")

    def test_a_new_login_may_come_with_the_new_password(self, staff, refused, rpa_queue):
        staff.post(f"/painel/jobs/{refused.id}/repetir", {"login": "outro@empresa.com.br", "senha": "x1"})

        retry = Job.objects.exclude(pk=refused.pk).get()
        assert retry.secrets == {"login": "outro@empresa.com.br", "senha": "x1"}

    def test_the_service_refuses_too(self, refused, alice):
        with pytest.raises(lifecycle.CredentialsRequired):
            lifecycle.job_retry(job_id=refused.id, owner=alice)
        assert Job.objects.count() == 1

    def test_other_failures_retry_at_once_and_have_no_form(self, staff, bob, rpa_queue):
        timeout = make_job(bob, error="Tempo esgotado", error_category="timeout")

        assert staff.get(f"/painel/jobs/{timeout.id}/repetir").status_code == 405
        assert staff.post(f"/painel/jobs/{timeout.id}/repetir").status_code == 302
        assert Job.objects.exclude(pk=timeout.pk).get().secrets == timeout.secrets

class TestBulkRetry:
    def test_the_list_offers_failed_jobs_for_selection(self, staff, bob):
        failed = make_job(bob)
        done = make_job(bob, status=Job.Status.COMPLETED)

        page = staff.get("/painel/jobs/").content.decode()

        assert f'name="ids" value="{failed.id}" form="bulk-retry"' in page
        assert f'value="{done.id}"' not in page
        assert 'id="bulk-retry"' in page

    def test_the_first_post_only_shows_what_will_be_retried(self, staff, bob, rpa_queue):
        timeout, navigation = make_job(bob, error_category="timeout"), make_job(bob, error_category="navigation")
        auth = make_job(bob, error_category="auth", error="senha inválida")
        done = make_job(bob, status=Job.Status.COMPLETED)

        response = staff.post("/painel/jobs/repetir", {
            "ids": [timeout.id, navigation.id, auth.id, done.id, uuid.uuid4()], "filtros": "status=FAILED"})

        page = response.content.decode()
        assert response.status_code == 200 and "Repetir 2 jobs?" in page
        retryable = page[page.index('id="bulk-retryable"'):page.index("</section>", page.index('id="bulk-retryable"'))]
        assert str(timeout.id) in retryable and str(navigation.id) in retryable and str(auth.id) not in retryable
        needs_password = page[page.index('id="bulk-needs-credentials"'):]
        assert f'href="/painel/jobs/{auth.id}/repetir"' in needs_password
        assert "1 job não encontrado" in page and str(done.id) in page
        assert Job.objects.count() == 4 and rpa_queue.count == 0

    def test_the_confirmed_post_retries_the_failed_jobs_only(self, staff, alice, bob, rpa_queue,
                                                             django_capture_on_commit_callbacks):
        timeout, navigation = make_job(bob, error_category="timeout"), make_job(bob, error_category="navigation")
        auth = make_job(bob, error_category="auth")
        done = make_job(bob, status=Job.Status.COMPLETED)

        with django_capture_on_commit_callbacks(execute=True):
            response = staff.post("/painel/jobs/repetir", {
                "ids": [timeout.id, navigation.id, auth.id, done.id], "confirmar": "1",
                "filtros": "status=FAILED&x=1"})

        assert response["Location"] == "/painel/jobs/?status=FAILED"
        retries = Job.objects.filter(status=Job.Status.PENDING)
        assert sorted(job.logs.get().message for job in retries) == sorted(
            f"Repetição do job {source.id}, que falhou" for source in (timeout, navigation))
        assert {job.owner for job in retries} == {alice}
        assert rpa_queue.count == 2
        assert "2 jobs repetidos." in staff.get(response["Location"]).content.decode()

    def test_nothing_ticked_or_a_bad_id_changes_nothing(self, staff, bob):
        make_job(bob)

        nothing = staff.post("/painel/jobs/repetir", {"confirmar": "1"}, follow=True)
        bad = staff.post("/painel/jobs/repetir", {"ids": ["1; DROP TABLE"], "confirmar": "1"}, follow=True)

        assert "Marque ao menos um job que falhou para repetir." in nothing.content.decode()
        assert "Seleção inválida" in bad.content.decode()
        assert Job.objects.count() == 1

    def test_it_needs_the_add_job_permission_and_a_csrf_token(self, viewer, alice, bob):
        failed = make_job(bob)
        assert viewer.post("/painel/jobs/repetir", {"ids": [failed.id], "confirmar": "1"}).status_code == 403

        alice.user_permissions.add(Permission.objects.get(codename="add_job"))
        checked = Client(enforce_csrf_checks=True)
        checked.force_login(alice)
        assert checked.post("/painel/jobs/repetir", {"ids": [failed.id], "confirmar": "1"}).status_code == 403
        assert Job.objects.count() == 1

    def test_people_who_may_not_see_a_job_cannot_retry_it(self, client, bob, charlie, django_user_model):
        # Only staff open the pages, and staff see every job: a non-staff user is sent to the login.
        bob.user_permissions.add(Permission.objects.get(codename="add_job"))
        client.force_login(bob)
        failed = make_job(charlie)
        assert client.post("/painel/jobs/repetir", {"ids": [failed.id], "confirmar": "1"}).status_code == 302
        assert Job.objects.count() == 1
