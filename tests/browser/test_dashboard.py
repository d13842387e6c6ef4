"""The dashboard in a real browser: a job started from the form moves on its page without a
reload, a new job appears in an open list, a failed job shows its screenshot and can be retried,
the pages keep updating by polling when the websocket is refused, and they come back to live
updates by themselves after the server restarts."""

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from jobs.models import Job
from jobs.services import lifecycle
from tests.browser.conftest import Dashboard
from tests.conftest import AsgiServer

pytestmark = pytest.mark.django_db(transaction=True)

DEMO = {"login": "cliente@empresa.com.br", "senha": "sandbox123", "cnpj": "12.345.678/0001-95"}


def test_a_job_started_from_the_form_moves_on_its_page_without_reload(dashboard, dashboard_worker, operator):
    dashboard.sign_in(operator).open("/painel/jobs/novo/OI/")
    fields = {**DEMO, "filtro": "sleep:1.5;progress:60;log:Baixando fatura;sleep:2.5"}
    for name, value in fields.items():
        dashboard.find(f"#id_{name}").send_keys(value)
    dashboard.find("#create-job").click()

    dashboard.wait_for("main[data-live=job-detail]")
    job = Job.objects.get()
    assert dashboard.driver.current_url.endswith(f"/painel/jobs/{job.id}/")
    dashboard.wait_live()
    dashboard.mark_document()

    dashboard.wait_text("#job-progress-text", "60%")
    dashboard.wait_text("#log-lines", "Baixando fatura")
    bar = dashboard.find("#job-progress [data-progress]")
    assert bar.get_attribute("aria-valuenow") == "60"
    assert dashboard.find("#job-status [data-status]").text == "Executando"
    assert dashboard.same_document(), "the page reloaded to show progress"

    # When the job finishes, the page fetches the result, the timeline and the final log.
    dashboard.wait_text("#job-status", "Concluído")
    dashboard.wait_text("#log-lines", "Job concluído com sucesso")
    assert dashboard.find("#job-progress-text").text == "100%"


def test_a_new_job_appears_in_an_open_jobs_list_and_moves_there(dashboard, dashboard_worker, operator, bob):
    dashboard.sign_in(operator).open("/painel/jobs/")
    dashboard.wait_live()
    dashboard.mark_document()
    assert dashboard.driver.find_elements(By.CSS_SELECTOR, "#job-rows tr[data-job-id]") == []

    job = lifecycle.job_create(kind="VIVO", params={"filtro": "sleep:1;progress:50;sleep:1"}, secrets=DEMO, owner=bob)

    row_css = f'#job-rows tr[data-job-id="{job.id}"]'
    assert "VIVO" in dashboard.wait_for(row_css).text
    dashboard.wait_text(row_css, "Concluído")
    assert dashboard.find(f"{row_css} [data-progress]").get_attribute("aria-valuenow") == "100"
    assert dashboard.same_document()


def test_a_failed_job_shows_its_screenshot_and_retry_asks_for_the_new_password(
    dashboard, dashboard_worker, operator, bob,
):
    failed = Job.objects.create(
        kind="EMBRATEL", owner=bob, status=Job.Status.FAILED, params={"filtro": "progress:50", "cnpj": DEMO["cnpj"]},
        secrets={"login": DEMO["login"], "senha": DEMO["senha"]},
        error="Falha de autenticação no portal da EMBRATEL: Usuário ou senha inválidos.", error_category="auth",
    )
    dashboard.sign_in(operator).open("/accounts/login/")
    png = dashboard.driver.get_screenshot_as_png()
    lifecycle.job_artifact_save(job_id=failed.id, name="falha_tela.png", content=png)

    dashboard.open(f"/painel/jobs/{failed.id}/")
    screenshot = dashboard.wait_for("img.screenshot")
    loaded = "return arguments[0].complete && arguments[0].naturalWidth"
    dashboard.wait.until(lambda d: d.execute_script(loaded, screenshot))
    assert screenshot.is_displayed()
    assert "Usuário ou senha inválidos" in dashboard.find("#job-error").text

    # The portal refused the password: Retry asks for the new one instead of sending it again.
    assert dashboard.find("#retry-button").text == "Repetir com nova senha"
    dashboard.find("#retry-button").click()
    dashboard.wait_for("#retry-form")
    dashboard.find("#id_senha").send_keys("senha-nova-2024")
    dashboard.find("#retry-submit").click()
    dashboard.wait.until(lambda d: f"/painel/jobs/{failed.id}/" not in d.current_url)
    retry = Job.objects.exclude(pk=failed.pk).get()
    assert dashboard.driver.current_url.endswith(f"/painel/jobs/{retry.id}/")
    assert (retry.kind, retry.params) == ("EMBRATEL", failed.params)
    assert retry.secrets == {"login": DEMO["login"], "senha": "senha-nova-2024"}
    dashboard.wait_text("#job-status", "Concluído")


def test_when_the_websocket_is_refused_the_page_polls(dashboard, dashboard_worker, operator):
    refuse = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.WebSocket = function () { throw new Error('refused'); };"})
    try:
        job = lifecycle.job_create(kind="OI", params={"filtro": "sleep:4;progress:70;log:Conferindo fatura;sleep:2"},
                                   secrets=DEMO, owner=operator)
        dashboard.sign_in(operator).open(f"/painel/jobs/{job.id}/")
        dashboard.mark_document()
        dashboard.wait.until(lambda d: dashboard.find("#live-status").get_attribute("data-state") == "polling")
        dashboard.wait_text("#log-lines", "Conferindo fatura")
        dashboard.wait_text("#job-progress-text", "70%")
        assert dashboard.same_document()
    finally:
        dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", refuse)


def test_after_a_server_restart_the_page_catches_up_and_goes_live_again(chromium, worker_env, tmp_path, operator):
    server = AsgiServer(worker_env, tmp_path)
    try:
        dashboard = Dashboard(chromium, server)
        chromium.delete_all_cookies()
        job = Job.objects.create(kind="DIGITALNET", owner=operator, status=Job.Status.RUNNING, progress=10,
                                 params={"filtro": "12345678"}, secrets={})
        dashboard.sign_in(operator).open(f"/painel/jobs/{job.id}/")
        dashboard.wait_live()
        dashboard.mark_document()

        server.stop()
        dashboard.wait.until(lambda d: dashboard.find("#live-status").get_attribute("data-state") != "live")
        # What happens while the server is down reaches the page once it is back.
        lifecycle.job_progress(job_id=job.id, percent=40, message="Enquanto o servidor reiniciava")
        server.start()

        dashboard.wait_text("#log-lines", "Enquanto o servidor reiniciava")
        dashboard.wait_text("#job-progress-text", "40%")
        WebDriverWait(chromium, 40, poll_frequency=0.2).until(
            lambda d: dashboard.find("#live-status").get_attribute("data-state") == "live")

        lifecycle.job_progress(job_id=job.id, percent=70, message="De volta ao vivo")
        dashboard.wait_text("#log-lines", "De volta ao vivo")
        dashboard.wait_text("#job-progress-text", "70%")
        assert dashboard.same_document(), "the page reloaded to recover"
    finally:
        server.stop()


def test_bulk_retry_shows_what_it_will_retry_before_it_does(dashboard, dashboard_worker, operator, bob):
    def failed(kind: str, category: str, error: str) -> Job:
        return Job.objects.create(
            kind=kind, owner=bob, status=Job.Status.FAILED, params={"filtro": "progress:50", "cnpj": DEMO["cnpj"]},
            secrets={"login": DEMO["login"], "senha": DEMO["senha"]}, error=error, error_category=category,
        )

    timed_out = failed("OI", "timeout", "Tempo esgotado esperando o portal da OI (20 s).")
    moved = failed("EMBRATEL", "navigation", "O portal da EMBRATEL não mostrou o que a automação esperava.")
    refused = failed("VIVO", "auth", "Falha de autenticação no portal da VIVO: senha inválida.")
    dashboard.sign_in(operator).open("/painel/jobs/?status=FAILED")
    dashboard.wait_live()

    def ticked(job: Job) -> bool:
        # The live list may redraw its rows under the pointer (it keeps the ticks when it does).
        try:
            box = dashboard.find(f'input[name=ids][value="{job.id}"]')
            if not box.is_selected():
                box.click()
            return box.is_selected()
        except StaleElementReferenceException:
            return False

    for job in (timed_out, moved, refused):
        dashboard.wait.until(lambda d, job=job: ticked(job))
    dashboard.find("#bulk-retry-button").click()

    dashboard.wait_for("#bulk-confirm")
    assert dashboard.find("h1").text == "Repetir 2 jobs?"
    listed = {row.get_attribute("data-job-id") for row in
              dashboard.driver.find_elements(By.CSS_SELECTOR, "#bulk-retryable tr[data-job-id]")}
    assert listed == {str(timed_out.id), str(moved.id)}
    # The refused password stays out of the batch, with the way to retry it with a new one.
    link = dashboard.find(f'#bulk-needs-credentials a[href="/painel/jobs/{refused.id}/repetir"]')
    assert link.text == "repetir com nova senha"
    assert Job.objects.count() == 3, "the first step retried something"

    dashboard.find("#bulk-confirm-button").click()
    dashboard.wait_text(".flash", "2 jobs repetidos.")
    assert dashboard.driver.current_url.endswith("/painel/jobs/?status=FAILED")
    retries = Job.objects.exclude(pk__in=[timed_out.pk, moved.pk, refused.pk])
    assert sorted(retries.values_list("kind", flat=True)) == ["EMBRATEL", "OI"]
    WebDriverWait(dashboard.driver, 30, poll_frequency=0.2).until(
        lambda d: all(job.status == Job.Status.COMPLETED for job in retries.all()))


def test_the_line_counter_and_the_timeline_follow_a_live_job(dashboard, operator):
    counter = "section:has(#log-lines) .card-head span"
    started = ".timeline li:nth-child(2)"
    job = Job.objects.create(kind="OI", owner=operator, params={"filtro": "12345678"}, secrets={})
    dashboard.sign_in(operator).open(f"/painel/jobs/{job.id}/")
    dashboard.wait_live()
    dashboard.mark_document()
    assert dashboard.find(counter).text == "0 linhas · ao vivo"
    assert dashboard.find(started).text.endswith("aguardando worker")

    lifecycle.job_start(job_id=job.id)
    lifecycle.job_log(job_id=job.id, level="INFO", message="Acessando o portal da OI")
    dashboard.wait_text("#log-lines", "Acessando o portal da OI")
    dashboard.wait_text(counter, "1 linha · ao vivo")
    lifecycle.job_progress(job_id=job.id, percent=30, message="Login realizado")
    dashboard.wait_text("#log-lines", "Login realizado")
    dashboard.wait_text(counter, "2 linhas · ao vivo")

    redrawn = WebDriverWait(dashboard.driver, 20, poll_frequency=0.1,
                            ignored_exceptions=[StaleElementReferenceException])
    redrawn.until(lambda d: "done" in dashboard.find(started).get_attribute("class").split())
    assert "aguardando worker" not in dashboard.find(started).text
    assert dashboard.same_document(), "the page reloaded to show the new lines"
