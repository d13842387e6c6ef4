"""The bots' pages in a real browser, served by daphne: an event a bot posts appears on an open
events page without a reload, and the usage page draws its chart and tables, both without one
Content-Security-Policy violation."""

from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from selenium.webdriver.common.by import By

from accounts import bots
from accounts.bot_events import services as event_services
from accounts.models import ModelPrice
from accounts.usage import services as usage_services
from tests.accounts.test_usage_pages import grant, local
from tests.browser.test_content_security_policy import RECORD_VIOLATIONS, violations

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(alice):
    return grant(alice, "view_tokenusage", "view_botevent")


@pytest.fixture
def watched(dashboard):
    script = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield dashboard
    dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def test_an_event_a_bot_posts_appears_on_the_open_events_page(watched, reader):
    issued = bots.bot_create(name="Vendas WhatsApp", scopes="events:write")
    watched.sign_in(reader).open("/painel/eventos/")
    watched.wait_for("#event-rows .empty-row")
    watched.wait_live()
    watched.mark_document()

    response = requests.post(f"{watched.server.url}/api/v1/events/", timeout=10,
                             headers={"Authorization": f"Bearer {issued.token}"},
                             json={"event": "order_created", "payload": {"userId": "u-7", "orderId": "o-42"},
                                   "id": "evt-1"})
    assert response.status_code == 201, response.text

    row = watched.wait_for(f'#event-rows tr[data-event-id="{response.json()["id"]}"]')
    assert "order_created" in row.text and "Vendas WhatsApp" in row.text and "o-42" in row.text
    assert watched.driver.find_elements(By.CSS_SELECTOR, "#event-rows .empty-row") == []
    # The bot's counts follow, a few seconds later.
    watched.wait.until(lambda d: watched.find(f'#intake-table tr[data-bot-id="{issued.bot.bot_id}"] '
                                              '[data-count="accepted"]').text == "1")
    assert watched.same_document(), "the page reloaded to show the event"
    assert violations(watched) == []


def test_when_the_websocket_is_refused_the_events_page_polls_for_new_events(dashboard, reader):
    issued = bots.bot_create(name="Suporte Instagram", scopes="events:write")
    refuse = dashboard.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {
        "source": "window.WebSocket = function () { throw new Error('refused'); };"})
    try:
        dashboard.sign_in(reader).open("/painel/eventos/")
        dashboard.wait.until(lambda d: dashboard.find("#live-status").get_attribute("data-state") == "polling")
        dashboard.mark_document()
        results = event_services.bot_events_record(bot=issued.bot, items=[{"event": "handoff_requested",
                                                                          "payload": {}}])
        row = dashboard.wait_for(f'#event-rows tr[data-event-id="{results[0].id}"]')
        assert "handoff_requested" in row.text
        assert dashboard.same_document()
    finally:
        dashboard.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", refuse)


def test_a_budget_alert_shows_on_the_open_usage_page(dashboard, reader):
    sales = bots.bot_create(name="Vendas WhatsApp", scopes="usage:write").bot
    sales.budget_unit, sales.monthly_budget = "tokens", 1000
    sales.save()
    dashboard.sign_in(reader).open("/painel/consumo/")
    dashboard.wait_live()
    dashboard.mark_document()
    assert dashboard.driver.find_elements(By.CSS_SELECTOR, "#budget-alerts") == []

    usage_services.usage_record_many(bot=sales, items=[{"model": "gpt-x", "prompt_tokens": 1200,
                                                        "completion_tokens": 0}])

    notice = dashboard.wait_for('#budget-alerts [data-alert-level="exceeded"]')
    assert "Vendas WhatsApp" in notice.text and "estourou" in notice.text
    assert "Estourado" in dashboard.find(f'#usage-budgets tr[data-budget-bot="{sales.bot_id}"]').text
    assert dashboard.same_document()


def test_the_usage_page_draws_its_chart_and_tables(watched, reader):
    sales = bots.bot_create(name="Vendas WhatsApp", scopes="usage:write").bot
    support = bots.bot_create(name="Suporte Instagram", scopes="usage:write").bot
    ModelPrice.objects.create(model="gpt-4o-mini", valid_from=timezone.now() - timedelta(days=60),
                              input_per_million=Decimal("0.15"), output_per_million=Decimal("0.6"))
    for days_ago in range(0, 30, 3):
        usage_services.usage_record_many(bot=sales, items=[
            {"model": "gpt-4o-mini", "prompt_tokens": 1000 + 100 * days_ago, "completion_tokens": 400,
             "conversation_id": f"conv-{days_ago % 4}", "occurred_at": local(days_ago).isoformat()}])
    usage_services.usage_record_many(bot=support, items=[
        {"model": "modelo-sem-preco", "prompt_tokens": 500, "completion_tokens": 50}])

    watched.sign_in(reader).open("/painel/consumo/")
    chart = watched.wait_for("#usage-chart svg.chart")
    assert chart.size["width"] > 600 and chart.size["height"] > 150
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect")) == 10  # one a day with usage
    assert len(chart.find_elements(By.CSS_SELECTOR, "circle.cost-point")) == 30
    assert watched.find('[data-stat="records"]').text == "11"
    assert "modelo-sem-preco" in watched.find('[data-card="unpriced"]').text
    bot_rows = watched.driver.find_elements(By.CSS_SELECTOR, "#usage-per-bot tbody tr")
    assert [row.text.split("\n")[0].split(" ")[0] for row in bot_rows] == ["Vendas", "Suporte"]
    assert len(watched.driver.find_elements(By.CSS_SELECTOR, "#usage-per-model tbody tr")) == 2
    watched.wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#usage-top-conversations tbody tr")) == 4)
    page_width = watched.driver.execute_script("return document.documentElement.scrollWidth")
    assert page_width <= watched.driver.execute_script("return window.innerWidth")
    watched.wait_live()
    assert violations(watched) == []
