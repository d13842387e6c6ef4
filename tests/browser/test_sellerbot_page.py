"""The Seller Bot page in a real browser, served by daphne: a task created from the form appears
in the table, the switch turns on, and a task's notification redraws its row, all without a
reload or one Content-Security-Policy violation."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from project import live
from sellerbot import services
from sellerbot.models import BotTask
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/painel/seller-bot/"


@pytest.fixture
def watched(dashboard):
    script = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield dashboard
    dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


@pytest.fixture
def shop(bob):
    return services.profile_create(owner=bob, name="Loja Centro", username="centro@loja.com", password="s3nha")


def click(dashboard, css: str) -> None:
    element = dashboard.find(css)
    dashboard.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def test_a_task_created_from_the_form_appears_in_the_table(watched, bob, shop):
    watched.sign_in(bob).open(PAGE)
    watched.wait_live()
    watched.mark_document()
    Select(watched.find("#sb-task-type")).select_by_value("reply_messages")
    watched.find("#sb-task-interval").send_keys("30")
    click(watched, "#sb-task-form button[type=submit]")
    error = watched.wait_for('#sb-task-form .field-error[data-error-for="interval_seconds"]')
    assert "60" in error.text

    watched.find("#sb-task-interval").clear()
    watched.find("#sb-task-interval").send_keys("900")
    watched.find("#sb-task-templates").send_keys("Oi {nome}, já respondo!\nObrigado, {nome}!")
    click(watched, "#sb-task-form button[type=submit]")
    watched.wait_text("#sb-tasks-message", "criada")
    task = BotTask.objects.get(owner=bob)
    assert task.config["templates"] == ["Oi {nome}, já respondo!", "Obrigado, {nome}!"]
    row = watched.wait_for(f'#sb-task-rows tr[data-task-id="{task.pk}"]')
    assert "Responder mensagens" in row.text and "a cada 15 min" in row.text and "Loja Centro" in row.text
    assert watched.driver.find_elements(By.CSS_SELECTOR, "#sb-task-rows .empty-row") == []
    watched.wait_text('[data-stat="total_tasks"]', "1")
    assert watched.same_document()
    assert violations(watched) == []


def test_ligar_turns_the_switch_on(watched, bob):
    watched.sign_in(bob).open(PAGE)
    watched.wait_for("#sb-switch-button")
    assert watched.find("#sb-worker-state").text == "Desligado"
    click(watched, "#sb-switch-button")
    watched.wait.until(lambda d: watched.find("#sb-switch-button").text == "Parar")
    # No worker process beats in this test: the switch is on, the worker silent.
    assert watched.find("#sb-worker-state").get_attribute("data-state") == "silent"
    assert "Bot ligado" in watched.find("#sb-switch-message").text
    assert violations(watched) == []


def test_a_task_notification_redraws_its_row(watched, bob, shop):
    task = services.task_create(owner=bob, profile=shop, task_type="reply_comments", config={})
    watched.sign_in(bob).open(PAGE)
    watched.wait_live()
    BotTask.objects.filter(pk=task.pk).update(status="failed", last_error="Tempo esgotado no Seller Center.")
    live.notify_user(bob.pk, {"type": "bot_task_failed",
                              "payload": {"task_id": str(task.pk), "error": "Tempo esgotado", "retry_count": 0}})
    live.flush()
    watched.wait_text("#sb-tasks-message", f"A tarefa #{task.pk} falhou")
    watched.wait.until(lambda d: watched.find(f'#sb-task-rows tr[data-task-id="{task.pk}"]')
                       .get_attribute("data-status") == "failed")
    assert "Tempo esgotado no Seller Center." in watched.find(f'#sb-task-rows tr[data-task-id="{task.pk}"]').text
    assert violations(watched) == []


def test_when_the_websocket_is_refused_the_page_polls_every_15_seconds(dashboard, bob, shop):
    refuse = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.WebSocket = function () { throw new Error('refused'); };"})
    try:
        dashboard.sign_in(bob).open(PAGE)
        dashboard.wait.until(lambda d: dashboard.find("#live-status").get_attribute("data-state") == "polling")
        assert dashboard.find("#live-status").text == "Atualização a cada 15 s"
        assert dashboard.find("#sb-refresh").text == "Atualização a cada 15 s."
        dashboard.mark_document()
        task = services.task_create(owner=bob, profile=shop, task_type="sync_orders", config={})
        WebDriverWait(dashboard.driver, 25, poll_frequency=0.2).until(
            lambda d: d.find_elements(By.CSS_SELECTOR, f'#sb-task-rows tr[data-task-id="{task.pk}"]'))
        assert dashboard.same_document()
    finally:
        dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", refuse)
