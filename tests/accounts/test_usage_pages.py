"""The usage dashboard (/painel/consumo/) and the events page (/painel/eventos/): who may open
them, what they show from the rollups and the tallies, their filters and bad input, the
fragments the live script fetches, and the navigation links."""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import bots
from accounts.bot_events import services as event_services
from accounts.models import BotEvent, ModelPrice
from accounts.usage import services as usage_services

pytestmark = pytest.mark.django_db

USAGE = "/painel/consumo/"
EVENTS = "/painel/eventos/"


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="accounts", codename__in=codenames))
    return user


@pytest.fixture
def reader(alice):
    """Alice, staff, who may read usage and events."""
    return grant(alice, "view_tokenusage", "view_botevent")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def sales():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write,events:write").bot


@pytest.fixture
def support():
    return bots.bot_create(name="Suporte Instagram", scopes="usage:write,events:write").bot


@pytest.fixture
def priced():
    ModelPrice.objects.create(model="gpt-4o-mini", valid_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("1"), output_per_million=Decimal("2"))


def local(days_ago: int) -> datetime:
    """An instant of the local day `days_ago` days back; today's is already past."""
    today = timezone.localdate()
    midnight = timezone.make_aware(datetime(today.year, today.month, today.day))
    into_the_day = min(timedelta(hours=12), (timezone.now() - midnight) / 2)
    return midnight - timedelta(days=days_ago) + into_the_day


def record(bot, *, model="gpt-4o-mini", prompt=1000, completion=500, days_ago=0, conversation="", **extra):
    item = {"model": model, "prompt_tokens": prompt, "completion_tokens": completion,
            "occurred_at": local(days_ago).isoformat(), **extra}
    if conversation:
        item["conversation_id"] = conversation
    outcome = usage_services.usage_record_many(bot=bot, items=[item])
    assert outcome.results[0].status == "accepted", outcome.results[0]
    return outcome


def event(bot, name="order_created", **payload):
    results = event_services.bot_events_record(bot=bot, items=[{"event": name, "payload": payload}])
    assert results[0].status == "accepted", results[0]
    return BotEvent.objects.get(pk=results[0].id)


# --- the usage dashboard -------------------------------------------------------------------------

class TestUsageAccess:
    def test_it_sends_people_who_are_not_staff_to_the_login(self, bob):
        grant(bob, "view_tokenusage")
        response = signed_in(bob).get(USAGE)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]

    def test_staff_without_the_permission_are_refused(self, alice):
        assert signed_in(alice).get(USAGE).status_code == 403

    def test_the_navigation_offers_each_page_to_who_may_open_it(self, alice):
        page = signed_in(alice).get("/painel/").content.decode()
        assert USAGE not in page and EVENTS not in page
        grant(alice, "view_tokenusage")
        page = signed_in(alice).get("/painel/").content.decode()
        assert f'href="{USAGE}"' in page and EVENTS not in page
        grant(alice, "view_botevent")
        page = signed_in(alice).get(USAGE).content.decode()
        assert re.search(rf'href="{USAGE}" aria-current="page">Consumo<', page)
        assert f'href="{EVENTS}"' in page


class TestUsageDashboard:
    def test_it_shows_the_totals_of_the_last_30_days_by_default(self, reader, sales, priced):
        record(sales, days_ago=0)
        record(sales, days_ago=29)
        record(sales, days_ago=30)  # the 31st day back: outside the default period
        response = signed_in(reader).get(USAGE)
        assert response.status_code == 200
        dashboard = response.context["dashboard"]
        assert (dashboard.start, dashboard.end) == (timezone.localdate() - timedelta(days=29), timezone.localdate())
        assert dashboard.totals["records"] == 2
        assert dashboard.totals["total_tokens"] == 3000
        assert dashboard.totals["cost"] == Decimal("0.004")  # 2 × (1000 × 1 + 500 × 2) / 1e6
        assert len(dashboard.per_day) == 30

    def test_it_reads_the_rollups_and_never_the_usage_records(self, reader, sales, support, priced):
        for days_ago in range(5):
            record(sales, days_ago=days_ago, conversation=f"conv-{days_ago}")
            record(support, model="claude-x", days_ago=days_ago)
        client = signed_in(reader)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(USAGE)
        assert response.status_code == 200
        assert not [query["sql"] for query in queries.captured_queries if "accounts_tokenusage" in query["sql"]]
        assert len(queries.captured_queries) < 20

    def test_it_draws_a_bar_per_day_and_a_cost_line(self, reader, sales, priced):
        record(sales, days_ago=0, prompt=4000)
        record(sales, days_ago=3)
        page = signed_in(reader).get(USAGE).content.decode()
        chart = page[page.index('<svg class="chart chart-days"'):page.index("</svg>")]
        assert chart.count("<g data-day=") == 30
        assert chart.count("<rect ") == 2
        assert "<polyline" in chart and "style=" not in chart
        today = timezone.localdate()
        assert f'data-day="{today:%Y-%m-%d}"><title>{today:%d/%m/%Y}: 4500 tokens' in chart

    def test_it_filters_by_bot_and_by_model(self, reader, sales, support, priced):
        record(sales, prompt=100, completion=0)
        record(support, prompt=20, completion=0)
        record(support, model="claude-x", prompt=3, completion=0)
        client = signed_in(reader)
        by_bot = client.get(USAGE, {"bot": support.bot_id}).context["dashboard"]
        assert by_bot.totals["total_tokens"] == 23
        assert [row["bot"].name for row in by_bot.per_bot] == ["Suporte Instagram"]
        by_model = client.get(USAGE, {"modelo": "claude-x"}).context["dashboard"]
        assert by_model.totals["total_tokens"] == 3
        both = client.get(USAGE, {"bot": sales.bot_id, "modelo": "claude-x"})
        assert both.context["dashboard"].totals["records"] == 0
        assert 'id="usage-empty"' in both.content.decode()

    def test_a_chosen_period_counts_its_first_and_last_days(self, reader, sales, priced):
        for days_ago in (10, 5, 2):
            record(sales, days_ago=days_ago)
        start = timezone.localdate() - timedelta(days=10)
        end = timezone.localdate() - timedelta(days=5)
        dashboard = signed_in(reader).get(USAGE, {"de": start, "ate": end}).context["dashboard"]
        assert dashboard.totals["records"] == 2
        assert len(dashboard.per_day) == 6

    @pytest.mark.parametrize("params, field, message", [
        ({"de": "2026-05-10", "ate": "2026-05-01"}, "ate", "A data final é anterior à inicial."),
        ({"de": "2024-01-01", "ate": "2026-01-01"}, "ate", "Escolha um período de até 366 dias."),
        ({"de": "2026-13-45"}, "de", "Informe uma data válida."),
        ({"bot": "nobody"}, "bot", "Bot desconhecido"),
        ({"modelo": "never-used"}, "modelo", "Nenhum consumo deste modelo"),
    ])
    def test_a_bad_filter_is_named_on_the_page_and_the_default_taken(self, reader, sales, params, field, message):
        response = signed_in(reader).get(USAGE, params)
        assert response.status_code == 200
        page = response.content.decode()
        assert re.search(rf'data-error-for="{field}">[^<]*{re.escape(message)}', page), page
        dashboard = response.context["dashboard"]
        if field in ("de", "ate"):
            assert (dashboard.end - dashboard.start).days == 29

    def test_records_without_a_price_are_flagged_with_their_model(self, reader, sales, priced):
        record(sales)
        record(sales, model="modelo-sem-preco")
        page = signed_in(reader).get(USAGE).content.decode()
        card = page[page.index('data-card="unpriced"'):]
        card = card[:card.index("</div>")]
        assert "stat-failed" in page[page.index('data-card="unpriced"') - 40:page.index('data-card="unpriced"')]
        assert ">1</strong>" in card and "modelo-sem-preco" in card and "gpt-4o-mini" not in card
        model_row = page[page.index('data-model="modelo-sem-preco"'):]
        assert "sem preço" in model_row[:model_row.index("</tr>")]

    def test_it_lists_bots_models_and_the_top_ten_conversations(self, reader, sales, support, priced):
        for n in range(12):
            record(sales, prompt=100 * (n + 1), completion=0, conversation=f"conversa-{n:02d}")
        record(support, model="claude-x", prompt=50, completion=0)
        client = signed_in(reader)
        page = client.get(USAGE)
        dashboard = page.context["dashboard"]
        assert [row["bot"].name for row in dashboard.per_bot] == ["Vendas WhatsApp", "Suporte Instagram"]
        assert [row["model"] for row in dashboard.per_model] == ["gpt-4o-mini", "claude-x"]
        # The conversations come apart, with the page's filters.
        placeholder = re.search(r'id="usage-conversations" data-url="([^"]+)"', page.content.decode()).group(1)
        assert placeholder == f"{USAGE}?parte=conversas"
        fragment = client.get(placeholder)
        assert fragment.content.decode().count("<tr><td") == 10 and "<html" not in fragment.content.decode()
        top = fragment.context["conversations"]
        assert len(top) == 10
        assert top[0] == {"bot": sales, "conversation_id": "conversa-11", "records": 1, "total_tokens": 1200,
                          "cost": Decimal("0.0012")}
        assert top[-1]["conversation_id"] == "conversa-02"
        by_bot = client.get(USAGE, {"parte": "conversas", "bot": support.bot_id}).content.decode()
        assert "Nenhum registro com conversation_id neste período." in by_bot

    def test_it_shows_each_budget_and_this_months_alerts(self, reader, sales, support, priced):
        sales.budget_unit, sales.monthly_budget, sales.budget_warning_percent = "tokens", 2000, 50
        sales.save()
        support.budget_unit, support.monthly_budget = "cost", Decimal("10")
        support.save()
        record(sales, prompt=1000, completion=200)  # 1,200 of 2,000 tokens: past the 50 % warning
        response = signed_in(reader).get(USAGE)
        budgets = {entry.bot.name: entry for entry in response.context["dashboard"].budgets}
        assert (budgets["Vendas WhatsApp"].level, budgets["Vendas WhatsApp"].percent) == ("warning", 60)
        assert budgets["Suporte Instagram"].level == "ok"
        page = response.content.decode()
        assert 'id="budget-alerts"' in page
        notice = page[page.index('data-alert-level="warning"'):]
        assert "Vendas WhatsApp" in notice[:300] and "1.200 de 2.000 tokens" in notice[:300]

        record(sales, prompt=1000, completion=0)
        page = signed_in(reader).get(USAGE).content.decode()
        assert 'data-alert-level="exceeded"' in page
        assert 'data-alert-level="warning"' not in page  # the limit passed says more than the warning
        row = page[page.index(f'data-budget-bot="{sales.bot_id}"'):]
        assert "Estourado" in row[:row.index("</tr>")] and "110%" in row[:row.index("</tr>")]

    def test_an_empty_period_says_so(self, reader):
        response = signed_in(reader).get(USAGE)
        page = response.content.decode()
        assert response.status_code == 200
        assert "Nenhum consumo registrado neste período." in page
        assert "Nenhum bot tem orçamento mensal." in page

    def test_the_figures_fragment_redraws_the_numbers_alone(self, reader, sales, priced):
        record(sales)
        response = signed_in(reader).get(USAGE, {"parte": "numeros"})
        page = response.content.decode()
        assert 'data-card="records"' in page and "<html" not in page and "usage-filters" not in page

    def test_the_export_link_carries_the_pages_filters(self, reader, sales, priced):
        record(sales)
        start = timezone.localdate() - timedelta(days=6)
        page = signed_in(reader).get(USAGE, {"de": start, "bot": sales.bot_id, "modelo": "gpt-4o-mini"})
        link = re.search(r'id="export-csv" href="([^"]+)"', page.content.decode()).group(1)
        assert link == (f"/api/v1/usage/export.csv?from={start}&amp;to={timezone.localdate()}"
                        f"&amp;bot={sales.bot_id}&amp;model=gpt-4o-mini")
        csv = signed_in(reader).get(link.replace("&amp;", "&"))
        assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
        assert len(b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()) == 2

    def test_the_page_has_no_inline_script_or_style(self, reader, sales, priced):
        record(sales)
        page = signed_in(reader).get(USAGE).content.decode()
        assert " style=" not in page
        assert not re.search(r"<script(?![^>]*\ssrc=)", page)


# --- the events page -----------------------------------------------------------------------------

class TestEventsPage:
    def test_it_needs_the_permission_to_see_bot_events(self, alice, bob):
        assert signed_in(alice).get(EVENTS).status_code == 403
        grant(bob, "view_botevent")
        assert signed_in(bob).get(EVENTS).status_code == 302

    def test_it_lists_the_events_newest_first(self, reader, sales, support):
        first = event(sales, "order_created", userId="u-1", orderId="o-9")
        second = event(support, "message_received", text="oi")
        response = signed_in(reader).get(EVENTS)
        assert response.status_code == 200
        page = response.content.decode()
        assert page.index(f'data-event-id="{second.pk}"') < page.index(f'data-event-id="{first.pk}"')
        row = page[page.index(f'data-event-id="{first.pk}"'):]
        row = row[:row.index("</tr>")]
        assert "Vendas WhatsApp" in row and "order_created" in row and "u-1" in row and "o-9" in row
        assert "&quot;userId&quot;: &quot;u-1&quot;" in row

    def test_it_filters_by_bot_and_by_event_type(self, reader, sales, support):
        mine = event(sales, "order_created")
        event(sales, "message_received")
        event(support, "order_created")
        client = signed_in(reader)
        by_bot = client.get(EVENTS, {"bot": sales.bot_id}).context["page"].object_list
        assert {e.bot_id for e in by_bot} == {sales.pk} and len(by_bot) == 2
        both = client.get(EVENTS, {"bot": sales.bot_id, "evento": "order_created"}).context["page"].object_list
        assert [e.pk for e in both] == [mine.pk]
        unknown = client.get(EVENTS, {"bot": "nobody"})
        assert unknown.status_code == 200 and "Bot desconhecido" in unknown.content.decode()
        assert len(unknown.context["page"].object_list) == 3

    def test_it_pages_like_the_jobs_list(self, reader, sales):
        event_services.bot_events_record(bot=sales, items=[{"event": f"e{n}", "payload": {}} for n in range(30)])
        client = signed_in(reader)
        first = client.get(EVENTS)
        assert len(first.context["page"].object_list) == 25 and "Página 1 de 2" in first.content.decode()
        assert len(client.get(EVENTS, {"pagina": 2}).context["page"].object_list) == 5
        assert client.get(EVENTS, {"pagina": "x"}).status_code == 200

    def test_it_counts_what_became_of_everything_each_bot_sent(self, reader, sales, support, priced):
        event_services.bot_events_record(bot=sales, items=[
            {"event": "ok", "payload": {}, "id": "e-1"}, {"event": "ok", "payload": {}, "id": "e-1"},
            {"event": "", "payload": {}}, {"event": "keyless", "payload": {}},
        ])
        record(support, request_id="r-1")
        usage_services.usage_record_many(bot=support, items=[{"model": "x"}])
        page = signed_in(reader).get(EVENTS).content.decode()
        table = page[page.index('id="intake-table"'):]
        sales_row = table[table.index(f'data-bot-id="{sales.bot_id}"'):]
        sales_row = sales_row[:sales_row.index("</tr>")]
        cells = re.findall(r'data-count="(\w+)" data-label="[^"]+">(\d+)<', sales_row)
        assert cells == [("accepted", "2"), ("duplicate", "1"), ("rejected", "1"), ("unkeyed", "1"),
                         ("accepted", "0"), ("duplicate", "0"), ("rejected", "0"), ("unkeyed", "0")]
        assert 'class="flagged"' in table[:table.index(f'data-bot-id="{sales.bot_id}"') + 60]
        support_row = table[table.index(f'data-bot-id="{support.bot_id}"'):]
        cells = re.findall(r'data-count="(\w+)" data-label="[^"]+">(\d+)<', support_row[:support_row.index("</tr>")])
        assert cells[4:] == [("accepted", "1"), ("duplicate", "0"), ("rejected", "1"), ("unkeyed", "0")]
        counts = signed_in(reader).get(EVENTS, {"parte": "contagens"}).content.decode()
        assert 'id="intake-table"' in counts and "<html" not in counts

    def test_the_live_rows_are_those_of_the_ids_asked_that_the_filters_keep(self, reader, sales, support):
        mine = event(sales, "order_created")
        other = event(support, "order_created")
        client = signed_in(reader)
        rows = client.get(EVENTS, {"parte": "linhas", "ids": f"{mine.pk},{other.pk}"}).content.decode()
        assert rows.index(f'data-event-id="{other.pk}"') < rows.index(f'data-event-id="{mine.pk}"')
        assert "<html" not in rows
        filtered = client.get(EVENTS, {"parte": "linhas", "ids": str(other.pk), "bot": sales.bot_id})
        assert filtered.status_code == 204
        assert client.get(EVENTS, {"parte": "linhas", "ids": "1,x"}).status_code == 400

    def test_the_rows_fragment_is_the_pages_first_rows(self, reader, sales):
        newest = event(sales, "order_created")
        rows = signed_in(reader).get(EVENTS, {"parte": "linhas"}).content.decode()
        assert rows.lstrip().startswith(f'<tr data-event-id="{newest.pk}"')

    def test_an_empty_list_says_so(self, reader):
        page = signed_in(reader).get(EVENTS).content.decode()
        assert "Nenhum evento recebido ainda." in page
        assert "Nenhum bot enviou eventos ou consumo ainda." in page
