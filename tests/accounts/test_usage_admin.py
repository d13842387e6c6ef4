"""Metering in the admin: prices edited and their period recomputed, token usage and events listed
read-only (usable with millions of rows), budget alerts, and a bot's monthly budget on its form."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import bots
from accounts.bot_events.services import bot_events_record
from accounts.models import Bot, BotEvent, BudgetAlert, ModelPrice, TokenUsage, UsageDaily
from accounts.usage.services import usage_record_many

pytestmark = pytest.mark.django_db

PRICES = "/admin/accounts/modelprice/"
USAGE = "/admin/accounts/tokenusage/"
EVENTS = "/admin/accounts/botevent/"


@pytest.fixture
def staff(client, alice):
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    return client


@pytest.fixture
def bot():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write,events:write,status:read").bot


def page_text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def price(model="gpt-4o", days_ago=30, input_price="1", output_price="2", **extra) -> ModelPrice:
    return ModelPrice.objects.create(model=model, valid_from=timezone.now() - timedelta(days=days_ago),
                                     input_per_million=Decimal(input_price), output_per_million=Decimal(output_price),
                                     **extra)


def record(bot, model="gpt-4o", days_ago=1, prompt=1_000_000, completion=1_000_000, **extra):
    item = {"model": model, "prompt_tokens": prompt, "completion_tokens": completion,
            "occurred_at": (timezone.now() - timedelta(days=days_ago)).isoformat(), **extra}
    result = usage_record_many(bot=bot, items=[item]).results[0]
    assert result.status == "accepted", result
    return TokenUsage.objects.get(pk=result.id)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- prices -------------------------------------------------------------------------------------

def test_the_price_list_shows_when_each_price_ends(staff):
    older, newer = price(days_ago=30), price(days_ago=10, input_price="3")

    text = page_text(staff.get(PRICES))

    assert "Desde" in text and "Até" in text
    assert timezone.localtime(newer.valid_from).strftime("%d/%m/%Y %H:%M:%S") in text  # the end of the older
    assert "em vigor" in text
    assert older.pk and "gpt-4o" in text


def test_the_recompute_action_reprices_only_the_period_of_each_selected_price(staff, bot):
    older = price(days_ago=30)
    price(days_ago=10, input_price="5")
    in_older, in_newer = record(bot, days_ago=20), record(bot, days_ago=2)
    assert in_older.cost == Decimal("3") and in_newer.cost == Decimal("7")
    ModelPrice.objects.filter(pk=older.pk).update(input_per_million=Decimal("4"))  # a correction

    response = staff.post(PRICES, {"action": "recompute_period", "_selected_action": [older.pk]}, follow=True)

    assert any("1 registro(s) de consumo mudaram" in message for message in messages_of(response))
    in_older.refresh_from_db()
    in_newer.refresh_from_db()
    assert in_older.cost == Decimal("6") and in_newer.cost == Decimal("7")
    day = timezone.localdate(in_older.occurred_at)
    assert UsageDaily.objects.get(bot=bot, day=day).cost == Decimal("6")


def test_the_recompute_action_prices_records_that_had_no_price(staff, bot):
    unpriced = record(bot, model="llama-3", days_ago=3)
    assert unpriced.cost is None
    new = price(model="llama-3", days_ago=5, input_price="1", output_price="1")

    response = staff.post(PRICES, {"action": "recompute_period", "_selected_action": [new.pk]}, follow=True)

    assert any("1 registro(s)" in message for message in messages_of(response))
    unpriced.refresh_from_db()
    assert unpriced.cost == Decimal("2") and unpriced.price_id == new.pk
    assert UsageDaily.objects.get(bot=bot, model="llama-3").unpriced_records == 0


def test_a_period_too_large_to_recompute_while_the_page_waits_points_to_the_command(staff, bot, monkeypatch):
    from accounts.admin import ModelPriceAdmin

    monkeypatch.setattr(ModelPriceAdmin, "action_max_records", 1)
    current = price(days_ago=30)
    first = record(bot, days_ago=3)
    record(bot, days_ago=2)
    ModelPrice.objects.filter(pk=current.pk).update(input_per_million=Decimal("4"))

    response = staff.post(PRICES, {"action": "recompute_period", "_selected_action": [current.pk]}, follow=True)

    (warning,) = messages_of(response)
    start = timezone.localtime(current.valid_from)
    assert warning.startswith("Os períodos selecionados têm 2 registros de consumo")
    assert f"usage_recompute_costs --from {start:%Y-%m-%d} --to {timezone.localdate():%Y-%m-%d} --model gpt-4o" \
        in warning
    first.refresh_from_db()
    assert first.cost == Decimal("3")


def test_changing_a_price_says_how_many_records_keep_the_old_cost_and_how_to_recompute(staff, bot):
    current = price(days_ago=30)
    usage = record(bot, days_ago=2)
    valid_from = timezone.localtime(current.valid_from)

    response = staff.post(f"{PRICES}{current.pk}/change/", {
        "model": "gpt-4o", "valid_from_0": f"{valid_from:%d/%m/%Y}", "valid_from_1": f"{valid_from:%H:%M:%S}",
        "input_per_million": "10", "cached_input_per_million": "", "output_per_million": "2",
        "reasoning_per_million": "", "note": "corrigido",
    }, follow=True)

    (warning,) = [m for m in messages_of(response) if "mantêm o custo" in m]
    assert warning.startswith("1 registro(s) de consumo de gpt-4o")
    assert "Recalcular custos do período" in warning
    assert f"usage_recompute_costs --from {valid_from:%Y-%m-%d} --to {timezone.localdate():%Y-%m-%d} " \
           "--model gpt-4o" in warning
    usage.refresh_from_db()
    assert usage.cost == Decimal("3")  # unchanged until someone recomputes


def test_a_price_whose_period_has_no_usage_says_there_is_nothing_to_recompute(staff, bot):
    record(bot, model="gpt-4o", days_ago=2)
    start = timezone.localtime(timezone.now() + timedelta(days=1))

    response = staff.post(f"{PRICES}add/", {
        "model": "gpt-4o", "valid_from_0": f"{start:%d/%m/%Y}", "valid_from_1": "00:00:00",
        "input_per_million": "1", "output_per_million": "1",
    }, follow=True)

    assert ModelPrice.objects.filter(model="gpt-4o").count() == 1
    assert any("nada a recalcular" in message for message in messages_of(response))


def test_editing_only_a_prices_note_says_nothing_about_recomputing(staff, bot):
    current = price(days_ago=30)
    record(bot, days_ago=2)
    valid_from = timezone.localtime(current.valid_from)

    response = staff.post(f"{PRICES}{current.pk}/change/", {
        "model": "gpt-4o", "valid_from_0": f"{valid_from:%d/%m/%Y}", "valid_from_1": f"{valid_from:%H:%M:%S}",
        "input_per_million": "1", "output_per_million": "2", "note": "tabela de dezembro",
    }, follow=True)

    assert not [m for m in messages_of(response) if "recalcul" in m.lower()]


def test_moving_a_price_later_points_to_the_command_for_the_whole_affected_period(staff, bot):
    current = price(days_ago=30)
    record(bot, days_ago=20)
    old_start = timezone.localtime(current.valid_from)
    new_start = timezone.localtime(timezone.now() - timedelta(days=10))

    response = staff.post(f"{PRICES}{current.pk}/change/", {
        "model": "gpt-4o", "valid_from_0": f"{new_start:%d/%m/%Y}", "valid_from_1": f"{new_start:%H:%M:%S}",
        "input_per_million": "1", "output_per_million": "2",
    }, follow=True)

    (warning,) = [m for m in messages_of(response) if "mantêm o custo" in m]
    assert f"--from {old_start:%Y-%m-%d}" in warning
    assert "ação" not in warning  # the action would start at the new date and miss the record


# --- token usage ----------------------------------------------------------------------------------

def test_the_usage_list_shows_unpriced_records_visibly(staff, bot):
    price(days_ago=30)
    record(bot, days_ago=1, request_id="req-priced")
    record(bot, model="modelo-sem-preco", days_ago=1, request_id="req-unpriced")

    response = staff.get(USAGE)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="usage-unpriced nowrap"') == 1 and "sem preço" in html
    assert '<td class="field-cost_usd">3</td>' in html
    assert "req-priced" in html and "Vendas WhatsApp" in html


def test_the_usage_list_filters_by_price_model_and_bot(staff, bot):
    other = bots.bot_create(name="Suporte", scopes="usage:write").bot
    price(days_ago=30)
    record(bot, request_id="a-priced")
    record(bot, model="sem-preco", request_id="b-unpriced")
    record(other, request_id="c-other-bot")

    def listed(query: str) -> set[str]:
        html = staff.get(USAGE + query).content.decode()
        return {key for key in ("a-priced", "b-unpriced", "c-other-bot") if key in html}

    assert listed("?preco=sem") == {"b-unpriced"}
    assert listed("?preco=com") == {"a-priced", "c-other-bot"}
    assert listed("?modelo=sem-preco") == {"b-unpriced"}
    assert listed(f"?bot__id__exact={other.pk}") == {"c-other-bot"}
    assert "sem-preco" in page_text(staff.get(USAGE))  # the model filter offers it


def test_the_usage_list_searches_by_exact_request_and_conversation_ids(staff, bot):
    record(bot, request_id="req-123", conversation_id="conv-9")
    record(bot, request_id="req-1234")

    html = staff.get(USAGE, {"q": "req-123"}).content.decode()
    assert "req-123<" in html and "req-1234" not in html
    html = staff.get(USAGE, {"q": "conv-9"}).content.decode()
    assert "req-123<" in html and "req-1234" not in html


def test_the_usage_list_counts_once_and_queries_the_same_for_3_or_30_rows(staff, bot):
    for n in range(3):
        record(bot, request_id=f"r{n}")
    staff.get(USAGE)  # warm the session and content types

    def queries_for(path: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(path).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    few = queries_for(f"{USAGE}?bot__id__exact={bot.pk}")
    usage_record_many(bot=bot, items=[{"model": "gpt-4o", "prompt_tokens": 1, "completion_tokens": 1,
                                       "request_id": f"more-{n}"} for n in range(27)])
    many = queries_for(f"{USAGE}?bot__id__exact={bot.pk}")

    assert len(many) == len(few)
    assert sum("COUNT(" in sql.upper() for sql in many) == 1  # the filtered count only, not the table's


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the estimate comes from PostgreSQL's statistics")
def test_the_unfiltered_usage_list_of_a_large_table_takes_its_size_from_the_statistics(staff, bot, monkeypatch):
    from project.pagination import EstimatedCountPaginator

    for n in range(3):
        record(bot, request_id=f"r{n}")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_tokenusage")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 0)

    with CaptureQueriesContext(connection) as queries:
        assert staff.get(USAGE).status_code == 200
    assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(USAGE, {"preco": "sem"}).status_code == 200
    assert len([q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]) == 1


def test_usage_records_are_read_only_in_the_admin(staff, bot):
    usage = record(bot, metadata={"canal": "whatsapp"})

    page = staff.get(f"{USAGE}{usage.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and "Apagar" not in html
    assert "&quot;canal&quot;: &quot;whatsapp&quot;" in html
    assert staff.get(f"{USAGE}add/").status_code == 403


# --- events and alerts ----------------------------------------------------------------------------

def test_the_event_list_filters_by_bot_and_type(staff, bot):
    other = bots.bot_create(name="Loja", scopes="events:write").bot
    bot_events_record(bot=bot, items=[{"event": "new_message", "payload": {"text": "oi"}, "id": "e-1"},
                                      {"event": "order_update", "payload": {"orderId": 7}, "id": "e-2"}])
    bot_events_record(bot=other, items=[{"event": "new_message", "payload": {}, "id": "e-3"}])

    def listed(query: str) -> set[str]:
        html = staff.get(EVENTS + query).content.decode()
        return {key for key in ("e-1", "e-2", "e-3") if f">{key}<" in html}

    assert listed("") == {"e-1", "e-2", "e-3"}
    assert listed("?evento=new_message") == {"e-1", "e-3"}
    assert listed(f"?bot__id__exact={other.pk}") == {"e-3"}
    assert "order_update" in page_text(staff.get(EVENTS))


def test_an_events_page_shows_its_payload_pretty_printed(staff, bot):
    bot_events_record(bot=bot, items=[{"event": "order_update", "payload": {"orderId": 7, "status": "paid"},
                                       "id": "e-1", "source": "whatsapp"}])
    event = BotEvent.objects.get()

    html = staff.get(f"{EVENTS}{event.pk}/change/").content.decode()

    pretty = '{\n  &quot;orderId&quot;: 7,\n  &quot;status&quot;: &quot;paid&quot;\n}'
    assert f'<pre class="admin-json">{pretty}</pre>' in html
    assert "&quot;source&quot;: &quot;whatsapp&quot;" in html
    assert 'name="_save"' not in html


def test_budget_alerts_are_listed_read_only(staff, bot):
    BudgetAlert.objects.create(bot=bot, month=timezone.localdate().replace(day=1), level="warning",
                               used=Decimal("850000"), budget=Decimal("1000000"), unit="tokens")

    response = staff.get("/admin/accounts/budgetalert/")

    text = page_text(response)
    assert "aviso" in text and "850.000 tokens" in text and "1.000.000 tokens" in text
    assert staff.get("/admin/accounts/budgetalert/add/").status_code == 403


# --- a bot's budget -----------------------------------------------------------------------------------

def bot_form(bot, **budget) -> dict:
    return {"name": bot.name, "owner": "", "team": "", "scopes": bot.scopes, "is_active": "on",
            "budget_unit": "", "monthly_budget": "", "budget_warning_percent": "80", **budget}


def test_the_bots_form_sets_its_monthly_budget(staff, bot):
    page = staff.get(f"/admin/accounts/bot/{bot.pk}/change/")
    assert "Orçamento mensal" in page.content.decode()

    response = staff.post(f"/admin/accounts/bot/{bot.pk}/change/",
                          bot_form(bot, budget_unit="cost", monthly_budget="25.50", budget_warning_percent="90"))

    assert response.status_code == 302
    bot = Bot.objects.get(pk=bot.pk)
    assert (bot.budget_unit, bot.monthly_budget, bot.budget_warning_percent) == ("cost", Decimal("25.5"), 90)
    assert bot.has_budget


def test_a_budget_unit_without_an_amount_is_refused_in_words(staff, bot):
    response = staff.post(f"/admin/accounts/bot/{bot.pk}/change/", bot_form(bot, budget_unit="tokens"))

    assert response.status_code == 200
    assert "Informe o orçamento mensal na unidade escolhida" in page_text(response)
    assert not Bot.objects.get(pk=bot.pk).has_budget


def test_a_budget_amount_without_a_unit_is_refused_in_words(staff, bot):
    response = staff.post(f"/admin/accounts/bot/{bot.pk}/change/", bot_form(bot, monthly_budget="1000"))

    assert response.status_code == 200
    assert "Escolha a unidade do orçamento" in page_text(response)
    assert Bot.objects.get(pk=bot.pk).monthly_budget is None


def test_clearing_both_budget_fields_removes_the_budget(staff, bot):
    Bot.objects.filter(pk=bot.pk).update(budget_unit="tokens", monthly_budget=Decimal("1000"))

    response = staff.post(f"/admin/accounts/bot/{bot.pk}/change/", bot_form(bot))

    assert response.status_code == 302
    assert not Bot.objects.get(pk=bot.pk).has_budget
