"""Which invoice a SAT job may send: one that a job its requester may see downloaded (staff: any
job's), never a job's failure evidence; checked when the job is created, on every route."""

import pytest
from django.contrib.auth.models import Permission

from jobs import validators
from jobs.models import Job
from jobs.services import lifecycle
from tests.jobs.helpers import invoice_downloaded_by

pytestmark = pytest.mark.django_db

SAT_PAYLOAD = {
    "cnpj": "12.345.678/0001-95", "razao": "EMPRESA EXEMPLO LTDA", "operadora": "OI", "nome_filtro": "OI FIXO",
    "unidade": "UNIDADE CENTRAL", "servico": "TELEFONIA", "dados_sat": "DADOS_SAT_EXEMPLO",
    "nome_arquivo": "fatura_oi_202401.pdf", "data_vencimento": "15/01/2024",
}
REFUSED = [{"loc": ["body", "nome_arquivo"], "msg": validators.INVOICE_NOT_USABLE, "type": "value_error.nome_arquivo"}]


def post_sat(api, nome_arquivo: str):
    return api.post("/executar/sat", {**SAT_PAYLOAD, "nome_arquivo": nome_arquivo}, format="json")


def sat_jobs() -> int:
    return Job.objects.filter(kind="SAT").count()


class TestTheSeedRoute:
    def test_it_accepts_an_invoice_of_the_requesters_own_job_by_name_or_path(self, bob, bob_api, rpa_queue):
        invoice = invoice_downloaded_by(bob, "oi_bob_202401.pdf")

        by_name = post_sat(bob_api, "oi_bob_202401.pdf")
        by_path = post_sat(bob_api, invoice.result)

        assert (by_name.status_code, by_path.status_code) == (200, 200)
        assert sat_jobs() == 2

    def test_it_refuses_another_users_invoice_and_queues_nothing(self, bob_api, charlie, rpa_queue):
        invoice = invoice_downloaded_by(charlie, "oi_charlie_202401.pdf")

        for nome_arquivo in ("oi_charlie_202401.pdf", invoice.result):
            response = post_sat(bob_api, nome_arquivo)
            assert response.status_code == 422
            assert response.json() == {"detail": REFUSED}
        assert sat_jobs() == 0
        assert rpa_queue.count == 0

    def test_an_artifact_is_refused_without_a_word_about_it(self, bob, bob_api):
        failed = Job.objects.create(kind="OI", owner=bob, status=Job.Status.FAILED, params={}, error="x")
        path = lifecycle.job_artifact_save(job_id=failed.id, name="falha_tela.png", content=b"\x89PNG" + b"0" * 999)

        evidence = post_sat(bob_api, path)
        missing = post_sat(bob_api, path.replace("falha_tela", "nao_existe"))

        assert evidence.status_code == 422
        # The same answer as for a file that does not exist: nothing says it is there, or its size.
        assert evidence.json() == missing.json() == {"detail": REFUSED}
        assert "1003" not in evidence.content.decode()
        assert sat_jobs() == 0

    @pytest.mark.parametrize("nome_arquivo", [
        "../faturas/oi_bob_202401.pdf", "faturas/../faturas/oi_bob_202401.pdf", "faturas//oi_bob_202401.pdf",
        "/faturas/oi_bob_202401.pdf", "faturas/./oi_bob_202401.pdf", "../../settings.py", "faturas/",
    ])
    def test_it_refuses_paths_that_wander(self, bob, bob_api, nome_arquivo):
        invoice_downloaded_by(bob, "oi_bob_202401.pdf")

        response = post_sat(bob_api, nome_arquivo)

        assert response.status_code == 422 and response.json() == {"detail": REFUSED}
        assert sat_jobs() == 0

    def test_an_invoice_no_longer_in_storage_is_refused(self, bob, bob_api):
        from django.core.files.storage import default_storage

        invoice = invoice_downloaded_by(bob, "oi_apagada_202401.pdf")
        default_storage.delete(invoice.result)

        assert post_sat(bob_api, "oi_apagada_202401.pdf").json() == {"detail": REFUSED}

    def test_a_result_of_a_job_that_did_not_complete_is_refused(self, bob, bob_api):
        invoice = invoice_downloaded_by(bob, "oi_falhou_202401.pdf")
        Job.objects.filter(pk=invoice.pk).update(status=Job.Status.FAILED)

        assert post_sat(bob_api, "oi_falhou_202401.pdf").status_code == 422

    def test_staff_may_send_any_jobs_invoice(self, alice_api, charlie, rpa_queue):
        invoice_downloaded_by(charlie, "oi_charlie_202401.pdf")

        assert post_sat(alice_api, "oi_charlie_202401.pdf").status_code == 200
        assert sat_jobs() == 1


class TestTheRestApi:
    def test_another_users_invoice_is_a_400_naming_the_field(self, bob_api, charlie):
        invoice_downloaded_by(charlie, "oi_charlie_202401.pdf")

        response = bob_api.post("/api/v1/jobs/", {
            "kind": "SAT", "params": {**SAT_PAYLOAD, "nome_arquivo": "oi_charlie_202401.pdf"}}, format="json")

        assert response.status_code == 400
        assert response.json() == {"params": {"nome_arquivo": [validators.INVOICE_NOT_USABLE]}}
        assert sat_jobs() == 0

    def test_the_requesters_own_invoice_is_accepted(self, bob, bob_api, rpa_queue):
        invoice_downloaded_by(bob, "oi_bob_202401.pdf")

        response = bob_api.post("/api/v1/jobs/", {
            "kind": "SAT", "params": {**SAT_PAYLOAD, "nome_arquivo": "oi_bob_202401.pdf"}}, format="json")

        assert response.status_code == 201
        assert sat_jobs() == 1


class TestTheSatForm:
    @pytest.fixture
    def staff(self, client, alice):
        alice.user_permissions.add(Permission.objects.get(codename="add_job"))
        client.force_login(alice)
        return client

    def test_the_file_is_picked_from_the_invoices_of_completed_jobs(self, staff, bob):
        invoice = invoice_downloaded_by(bob, "oi_bob_202401.pdf")
        failed = Job.objects.create(kind="OI", owner=bob, status=Job.Status.FAILED, params={}, error="x")
        artifact = lifecycle.job_artifact_save(job_id=failed.id, name="falha_tela.png", content=b"\x89PNG")

        page = staff.get("/painel/jobs/novo/SAT/").content.decode()

        assert '<select name="nome_arquivo" id="id_nome_arquivo"' in page
        assert f'<option value="{invoice.result}">' in page
        assert artifact not in page

    def test_a_file_that_is_not_offered_is_refused_and_no_job_is_created(self, staff, rpa_queue):
        response = staff.post("/painel/jobs/novo/SAT/", {**SAT_PAYLOAD, "nome_arquivo": "jobs/x/falha_tela.png"})

        assert response.status_code == 422
        assert validators.INVOICE_NOT_USABLE in response.content.decode()
        assert sat_jobs() == 0

    def test_a_picked_invoice_creates_the_job(self, staff, bob, rpa_queue):
        invoice = invoice_downloaded_by(bob, "oi_bob_202401.pdf")

        response = staff.post("/painel/jobs/novo/SAT/", {**SAT_PAYLOAD, "nome_arquivo": invoice.result})

        assert response.status_code == 302
        assert Job.objects.get(kind="SAT").params["nome_arquivo"] == invoice.result
