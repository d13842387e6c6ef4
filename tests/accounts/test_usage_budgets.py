"""A bot's monthly budget, in tokens or in cost: the headers on every answer, one alert per level and
month (announced live once the usage commits), usage over the limit still recorded, and the status
route's over_budget."""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import bots, notifications
from accounts.models import Bot, BudgetAlert, ModelPrice, TokenUsage
from accounts.usage.budgets import budget_state, month_start
from project import live
from tests.listener import GroupListener

USAGE = "/api/v1/token-usage/"
BATCH = "/api/v1/token-usage/batch/"
ME = "/api/v1/bots/me/"
pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    return bots.bot_create(name="Vendas", scopes="usage:write,status:read")


@pytest.fixture
def client(issued):
    client = APIClient()
    client.credentials(HTTP_X_BOT_ID=issued.bot.bot_id, HTTP_X_BOT_TOKEN=issued.token)
    return client


def budget(issued, unit: str, monthly, warning: int = 80) -> Bot:
    Bot.objects.filter(pk=issued.bot.pk).update(budget_unit=unit, monthly_budget=Decimal(monthly),
                                                budget_warning_percent=warning)
    return Bot.objects.get(pk=issued.bot.pk)


def record(tokens: int, **fields) -> dict:
    """A record of `tokens` tokens in all (half prompt, half completion)."""
    return {"model": "gpt-4o", "prompt_tokens": tokens // 2, "completion_tokens": tokens - tokens // 2, **fields}


def alerts() -> list[str]:
    return list(BudgetAlert.objects.order_by("created_at", "id").values_list("level", flat=True))


# --- tokens ---------------------------------------------------------------------------------------

def test_a_token_budget_warns_once_then_is_exceeded_once_and_usage_is_still_recorded(client, issued):
    budget(issued, "tokens", 1000)
    first = client.post(USAGE, record(500), format="json")
    assert first.status_code == 201
    assert (first["X-Budget-Remaining"], first["X-Budget-Unit"]) == ("500", "tokens")
    assert alerts() == []

    warned = client.post(USAGE, record(300), format="json")  # 800: the warning threshold, 80 %
    assert warned["X-Budget-Remaining"] == "200"
    assert alerts() == ["warning"]
    warning = BudgetAlert.objects.get()
    assert (warning.month, warning.used, warning.budget, warning.unit) == (
        month_start(), Decimal(800), Decimal(1000), "tokens")

    client.post(USAGE, record(100), format="json")
    assert alerts() == ["warning"]

    over = client.post(USAGE, record(400), format="json")  # 1300
    assert over.status_code == 201
    assert over["X-Budget-Remaining"] == "0"
    assert alerts() == ["warning", "exceeded"]
    client.post(USAGE, record(10), format="json")
    assert alerts() == ["warning", "exceeded"]
    assert TokenUsage.objects.count() == 5

    me = client.get(ME).json()
    assert me["over_budget"] is True
    assert me["budget"] == {"unit": "tokens", "monthly": 1000, "used": 1310, "remaining": 0, "warning_percent": 80,
                            "warning": True, "over_budget": True}


def test_one_record_past_both_thresholds_raises_both_alerts(client, issued):
    budget(issued, "tokens", 1000, warning=50)
    response = client.post(USAGE, record(1000), format="json")
    assert response["X-Budget-Remaining"] == "0"
    assert sorted(alerts()) == ["exceeded", "warning"]
    assert client.get(ME).json()["over_budget"] is True


def test_below_the_threshold_there_is_no_alert_and_the_bot_is_not_over(client, issued):
    budget(issued, "tokens", 1000)
    client.post(USAGE, record(799), format="json")
    assert alerts() == []
    me = client.get(ME).json()
    assert me["over_budget"] is False
    assert me["budget"]["warning"] is False and me["budget"]["remaining"] == 201


def test_a_batch_carries_the_budget_headers_too(client, issued):
    budget(issued, "tokens", 1000)
    response = client.post(BATCH, [record(100), record(200)], format="json")
    assert response.status_code == 200
    assert (response["X-Budget-Remaining"], response["X-Budget-Unit"]) == ("700", "tokens")


def test_a_replayed_record_carries_the_headers_and_uses_nothing_more(client, issued):
    budget(issued, "tokens", 1000)
    client.post(USAGE, record(300, request_id="r-1"), format="json")
    again = client.post(USAGE, record(300, request_id="r-1"), format="json")
    assert again["Idempotent-Replayed"] == "true"
    assert again["X-Budget-Remaining"] == "700"


def test_last_months_usage_and_alerts_do_not_count_this_month(client, issued):
    budget(issued, "tokens", 1000)
    last_month = month_start() - timedelta(days=1)
    BudgetAlert.objects.create(bot=issued.bot, month=last_month.replace(day=1), level="warning", used=900,
                               budget=1000, unit="tokens")
    late = timezone.make_aware(datetime.combine(last_month, time(12)))
    response = client.post(USAGE, record(900, occurred_at=late.isoformat()), format="json")
    assert response.status_code == 201
    assert response["X-Budget-Remaining"] == "1000"
    client.post(USAGE, record(850), format="json")
    assert BudgetAlert.objects.filter(month=month_start()).get().level == "warning"


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_crossing_the_thresholds_raise_each_alert_once(issued):
    budget(issued, "tokens", 1000)
    start = threading.Barrier(6)
    statuses, errors = [], []

    def send(n):
        try:
            client = APIClient()
            start.wait(timeout=10)
            response = client.post(USAGE, record(200, request_id=f"r-{n}"), format="json",
                                   HTTP_X_BOT_ID=issued.bot.bot_id, HTTP_X_BOT_TOKEN=issued.token)
            statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and statuses == [201] * 6
    assert sorted(alerts()) == ["exceeded", "warning"]
    assert BudgetAlert.objects.get(level="warning").used == Decimal(800)  # the rollup row serializes them
    assert BudgetAlert.objects.get(level="exceeded").used == Decimal(1000)


# --- cost -----------------------------------------------------------------------------------------

def test_a_cost_budget_counts_dollars_with_six_decimals(client, issued):
    budget(issued, "cost", "0.01")
    ModelPrice.objects.create(model="gpt-4o", valid_from=timezone.now() - timedelta(days=60),
                              input_per_million=Decimal("2"), output_per_million=Decimal("6"))
    first = client.post(USAGE, record(1000), format="json")  # 500 × 2 + 500 × 6 = 0.004
    assert first.json()["cost"] == "0.0040000000"
    assert (first["X-Budget-Remaining"], first["X-Budget-Unit"]) == ("0.006000", "USD")
    assert alerts() == []
    second = client.post(USAGE, record(1000), format="json")  # 0.008 ≥ 80 %
    assert second["X-Budget-Remaining"] == "0.002000"
    assert alerts() == ["warning"]
    third = client.post(USAGE, record(1000), format="json")
    assert third.status_code == 201 and third["X-Budget-Remaining"] == "0.000000"
    assert alerts() == ["warning", "exceeded"]
    exceeded = BudgetAlert.objects.get(level="exceeded")
    assert (exceeded.used, exceeded.budget, exceeded.unit) == (Decimal("0.012"), Decimal("0.01"), "cost")
    me = client.get(ME).json()
    assert me["over_budget"] is True
    assert me["budget"] == {"unit": "cost", "monthly": "0.010000", "used": "0.012000", "remaining": "0.000000",
                            "warning_percent": 80, "warning": True, "over_budget": True}


def test_unpriced_usage_spends_nothing_of_a_cost_budget(client, issued):
    budget(issued, "cost", "0.01")
    response = client.post(USAGE, record(10**6, model="sem-preco"), format="json")
    assert response.json()["priced"] is False
    assert response["X-Budget-Remaining"] == "0.010000"
    assert alerts() == []


# --- no budget ------------------------------------------------------------------------------------

def test_a_bot_without_a_budget_gets_no_budget_header(client, issued):
    response = client.post(USAGE, record(10**9), format="json")
    assert response.status_code == 201
    assert "X-Budget-Remaining" not in response and "X-Budget-Unit" not in response
    assert budget_state(bot=Bot.objects.get(pk=issued.bot.pk)) is None
    me = client.get(ME).json()
    assert (me["budget"], me["over_budget"]) == (None, False)
    assert not BudgetAlert.objects.exists()


def test_a_unit_without_an_amount_is_no_budget(client, issued):
    Bot.objects.filter(pk=issued.bot.pk).update(budget_unit="tokens", monthly_budget=None)
    assert "X-Budget-Remaining" not in client.post(USAGE, record(10), format="json")


# --- the live notice ------------------------------------------------------------------------------

def test_an_alert_is_announced_on_the_bots_group_once_the_usage_commits(client, issued,
                                                                        django_capture_on_commit_callbacks):
    budget(issued, "tokens", 1000)
    with GroupListener(notifications.BOTS_GROUP) as listener:
        with django_capture_on_commit_callbacks() as callbacks:
            client.post(USAGE, record(900), format="json")
        assert listener.drain(quiet=0.3) == []  # nothing before the commit
        for callback in callbacks:
            callback()
        live.flush()
        messages = GroupListener.unpacked(listener.drain(quiet=0.5))
    assert len(messages) == 1
    message = messages[0]
    assert {key: message[key] for key in ("type", "bot_id", "bot_name", "level", "unit")} == {
        "type": "budget.alert", "bot_id": issued.bot.bot_id, "bot_name": "Vendas", "level": "warning",
        "unit": "tokens"}
    assert (Decimal(message["used"]), Decimal(message["budget"])) == (Decimal(900), Decimal(1000))
    assert message["created_at"].startswith(f"{timezone.localdate():%Y-%m-%d}")


def test_no_alert_no_notice(client, issued, django_capture_on_commit_callbacks):
    budget(issued, "tokens", 1000)
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(USAGE, record(100), format="json")
    assert callbacks == []
