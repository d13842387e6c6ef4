"""GET /api/v1/usage/ and /api/v1/usage/export.csv: the usage records for frontends, each
filter, the summary, bad filters named, the CSV's content, and who is refused."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import bots
from accounts.models import ModelPrice
from accounts.usage import exports, selectors
from accounts.usage import services as usage_services
from tests.accounts.test_usage_pages import grant, local, record

pytestmark = pytest.mark.django_db

LIST = "/api/v1/usage/"
EXPORT = "/api/v1/usage/export.csv"


@pytest.fixture
def reader_api(alice, alice_api):
    grant(alice, "view_tokenusage")
    return alice_api


@pytest.fixture
def issued():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write,events:write,status:read")


@pytest.fixture
def sales(issued):
    return issued.bot


@pytest.fixture
def support():
    return bots.bot_create(name="Suporte Instagram", scopes="usage:write").bot


@pytest.fixture
def priced():
    ModelPrice.objects.create(model="gpt-4o-mini", valid_from=timezone.now() - timedelta(days=400),
                              input_per_million=Decimal("1"), output_per_million=Decimal("2"))


@pytest.fixture
def usage(sales, support, priced):
    """Five records: two bots, a priced and an unpriced model, over three days."""
    record(sales, prompt=1000, completion=500, days_ago=0, conversation="conv-a", request_id="r-1")
    record(sales, prompt=10, completion=5, days_ago=1, conversation="conv-a")
    record(sales, model="sem-preco", prompt=7, completion=3, days_ago=1, conversation="conv-b")
    record(support, prompt=100, completion=0, days_ago=2)
    record(support, prompt=200, completion=0, days_ago=10)


def csv_rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


class TestUsageList:
    def test_it_lists_records_newest_first_with_the_summary(self, reader_api, usage, sales):
        response = reader_api.get(LIST)
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 5
        # Two records of the same instant: the later one recorded first.
        assert [row["total_tokens"] for row in body["results"]] == [1500, 10, 15, 100, 200]
        first = body["results"][0]
        assert first["bot_id"] == sales.bot_id and first["bot_name"] == "Vendas WhatsApp"
        assert (first["model"], first["request_id"], first["conversation_id"]) == ("gpt-4o-mini", "r-1", "conv-a")
        assert (first["cost"], first["priced"]) == ("0.0020000000", True)
        assert body["results"][1]["cost"] is None and body["results"][1]["priced"] is False
        assert first["occurred_at"].endswith("-03:00")
        assert body["summary"] == {
            "records": 5, "prompt_tokens": 1317, "completion_tokens": 508, "cached_tokens": 0,
            "reasoning_tokens": 0, "total_tokens": 1825, "cost": "0.002320", "unpriced_records": 1,
        }

    def test_it_pages_with_limit_and_offset_and_counts_every_page(self, reader_api, usage):
        body = reader_api.get(LIST, {"limit": 2, "offset": 2}).json()
        assert body["count"] == 5 and len(body["results"]) == 2
        assert "offset=4" in body["next"] and body["previous"]
        assert body["summary"]["records"] == 5

    def test_it_filters_by_bot(self, reader_api, usage, support):
        body = reader_api.get(LIST, {"bot": support.bot_id}).json()
        assert body["count"] == 2 and {row["bot_id"] for row in body["results"]} == {support.bot_id}
        assert body["summary"]["total_tokens"] == 300

    def test_it_filters_by_model(self, reader_api, usage):
        body = reader_api.get(LIST, {"model": "sem-preco"}).json()
        assert [row["model"] for row in body["results"]] == ["sem-preco"]
        assert body["summary"]["unpriced_records"] == 1 and body["summary"]["cost"] == "0.000000"

    def test_it_filters_by_days_in_local_time_both_included(self, reader_api, usage):
        start = (timezone.localdate() - timedelta(days=2)).isoformat()
        end = (timezone.localdate() - timedelta(days=1)).isoformat()
        body = reader_api.get(LIST, {"from": start, "to": end}).json()
        assert sorted(row["total_tokens"] for row in body["results"]) == [10, 15, 100]
        assert body["count"] == 3 == body["summary"]["records"]
        assert reader_api.get(LIST, {"from": timezone.localdate().isoformat()}).json()["count"] == 1
        assert reader_api.get(LIST, {"to": end}).json()["count"] == 4

    def test_it_filters_by_conversation_summing_its_records(self, reader_api, usage, sales):
        body = reader_api.get(LIST, {"conversation_id": "conv-a"}).json()
        assert body["count"] == 2 and {row["conversation_id"] for row in body["results"]} == {"conv-a"}
        assert body["summary"] == {
            "records": 2, "prompt_tokens": 1010, "completion_tokens": 505, "cached_tokens": 0,
            "reasoning_tokens": 0, "total_tokens": 1515, "cost": "0.002020", "unpriced_records": 0,
        }
        combined = reader_api.get(LIST, {"conversation_id": "conv-a", "to": local(1).date().isoformat(),
                                         "bot": sales.bot_id, "model": "gpt-4o-mini"}).json()
        assert [row["total_tokens"] for row in combined["results"]] == [15]

    def test_an_empty_result_has_a_zero_summary(self, reader_api):
        body = reader_api.get(LIST).json()
        assert body["count"] == 0 and body["results"] == []
        assert body["summary"]["records"] == 0 and body["summary"]["cost"] == "0.000000"

    @pytest.mark.parametrize("params, name", [
        ({"from": "2026-02-30"}, "from"),
        ({"to": "ontem"}, "to"),
        ({"from": "2026-05-10", "to": "2026-05-01"}, "to"),
        ({"bot": "nobody"}, "bot"),
        ({"model": "x" * 101}, "model"),
        ({"conversation_id": "c" * 201}, "conversation_id"),
    ])
    def test_a_bad_filter_is_refused_naming_it(self, reader_api, params, name):
        for route, accept in ((LIST, "application/json"), (EXPORT, "text/csv")):
            response = reader_api.get(route, params, HTTP_ACCEPT=accept)
            assert response.status_code == 400, (route, response.content)
            assert response["Content-Type"].startswith("application/json")
            assert list(response.json()) == [name]

    @pytest.mark.parametrize("params, name", [({"limit": "0"}, "limit"), ({"offset": "-1"}, "offset"),
                                              ({"limit": "abc"}, "limit")])
    def test_a_bad_page_is_refused_naming_it(self, reader_api, params, name):
        response = reader_api.get(LIST, params)
        assert response.status_code == 400 and list(response.json()) == [name]

    def test_the_staff_session_opens_it(self, alice, usage):
        grant(alice, "view_tokenusage")
        client = Client()
        client.force_login(alice)
        assert client.get(LIST).json()["count"] == 5


class TestWhoIsRefused:
    def test_without_credentials_it_answers_401(self):
        assert APIClient().get(LIST).status_code == 401
        assert APIClient().get(EXPORT).status_code == 401

    @pytest.mark.parametrize("route", [LIST, EXPORT])
    def test_a_bot_credential_does_not_open_it(self, issued, route):
        bearer = APIClient().get(route, HTTP_AUTHORIZATION=f"Bearer {issued.token}")
        assert bearer.status_code == 401
        headers = APIClient().get(route, HTTP_X_BOT_ID=issued.bot.bot_id, HTTP_X_BOT_TOKEN=issued.token)
        assert headers.status_code == 401

    @pytest.mark.parametrize("route", [LIST, EXPORT])
    def test_staff_without_the_permission_are_refused(self, alice_api, route):
        response = alice_api.get(route)
        assert response.status_code == 403
        assert "accounts.view_tokenusage" in response.json()["detail"]

    def test_a_person_who_is_not_staff_is_refused_even_with_the_permission(self, bob, bob_api):
        grant(bob, "view_tokenusage")
        assert bob_api.get(LIST).status_code == 403


class TestUsageExport:
    def test_it_streams_every_record_of_the_filters_as_csv(self, reader_api, usage, sales):
        response = reader_api.get(EXPORT, {"bot": sales.bot_id})
        assert response.status_code == 200 and response.streaming
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="consumo-')
        header, *rows = csv_rows(response)
        assert header[:4] == ["ocorrido_em", "bot_id", "bot", "modelo"]
        assert len(rows) == 3
        first = dict(zip(header, rows[0], strict=True))
        assert first["bot_id"] == sales.bot_id and first["total_tokens"] == "1500"
        assert (first["custo_usd"], first["com_preco"], first["request_id"]) == ("0,002", "sim", "r-1")
        assert first["ocorrido_em"].endswith("-03:00")
        unpriced = dict(zip(header, rows[1], strict=True))
        assert (unpriced["modelo"], unpriced["custo_usd"], unpriced["com_preco"]) == ("sem-preco", "", "não")

    def test_a_cell_a_spreadsheet_would_run_is_written_as_text(self, reader_api, sales, priced):
        record(sales, conversation='=HYPERLINK("http://evil.example","x")', request_id="+cmd|' /C calc'!A0")
        header, row = csv_rows(reader_api.get(EXPORT))
        cells = dict(zip(header, row, strict=True))
        assert cells["conversa"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
        assert cells["request_id"] == "'+cmd|' /C calc'!A0"

    def test_an_empty_export_has_its_header(self, reader_api):
        assert len(csv_rows(reader_api.get(EXPORT))) == 1

    def test_chunks_continue_after_the_last_record_sent_even_among_records_of_one_instant(
        self, reader_api, sales, monkeypatch,
    ):
        monkeypatch.setattr(exports, "CHUNK", 3)
        same_instant = local(1).isoformat()
        usage_services.usage_record_many(bot=sales, items=[
            {"model": "m", "prompt_tokens": n, "completion_tokens": 0, "occurred_at": same_instant if n % 2 else
             local(n % 5).isoformat()} for n in range(1, 12)])
        header, *rows = csv_rows(reader_api.get(EXPORT))
        tokens = [int(row[header.index("total_tokens")]) for row in rows]
        assert sorted(tokens) == list(range(1, 12))
        expected = [usage.total_tokens for usage in selectors.usage_list()]
        assert tokens == expected
        lines = async_to_sync(_collect)(exports.usage_csv_rows_async(selectors.usage_list()))
        assert lines == list(exports.usage_csv_rows(selectors.usage_list()))


async def _collect(rows) -> list[str]:
    return [line async for line in rows]


@pytest.mark.django_db(transaction=True)
def test_the_export_streams_from_the_asgi_server(asgi_server, alice, sales, priced):
    grant(alice, "view_tokenusage")
    for n in range(5):
        record(sales, prompt=10 + n, completion=0, days_ago=n)
    token = RefreshToken.for_user(alice).access_token
    with requests.get(f"{asgi_server.url}{EXPORT}", headers={"Authorization": f"Bearer {token}"}, stream=True,
                      timeout=10) as response:
        assert response.status_code == 200 and response.headers["Content-Type"] == "text/csv; charset=utf-8"
        text = response.content.decode("utf-8-sig")
    assert [line.split(";")[8] for line in text.splitlines()[1:]] == ["10", "11", "12", "13", "14"]
    assert "must consume synchronous iterators" not in asgi_server.output.read_text()


def test_the_openapi_schema_documents_the_filters_and_the_summary(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/api/v1/usage/"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "bot", "model", "conversation_id",
                                                           "limit", "offset"}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    properties = schema["components"]["schemas"][page]["properties"]
    assert {"count", "next", "previous", "results", "summary"} <= set(properties)
    export = schema["paths"]["/api/v1/usage/export.csv"]["get"]
    assert "text/csv" in export["responses"]["200"]["content"]


def test_the_largest_cost_a_record_may_have_is_listed_in_full(reader_api, sales):
    ModelPrice.objects.create(model="caro", valid_from=timezone.now() - timedelta(days=1),
                              input_per_million=Decimal("99999999.999999"),
                              output_per_million=Decimal("99999999.999999"))
    usage_services.usage_record_many(bot=sales, items=[{"model": "caro", "prompt_tokens": 10**12,
                                                        "completion_tokens": 10**12}])

    response = reader_api.get(LIST)

    assert response.status_code == 200, response.content
    assert Decimal(response.json()["results"][0]["cost"]) == Decimal("199999999999998")
