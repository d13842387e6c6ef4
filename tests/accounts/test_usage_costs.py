"""What a record costs: the price in force when it occurred, cached and reasoning tokens at their
own prices, no price as a flagged null rather than a zero, and recomputation of exactly the period
asked once a price is added or corrected."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import bots
from accounts.models import ModelPrice, TokenUsage, UsageConversationDaily, UsageDaily
from accounts.usage import services
from accounts.usage.prices import PriceBook, usage_cost
from accounts.usage.services import usage_costs_recompute

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


def days_ago(days: int, hour: int = 12) -> datetime:
    """A moment `days` ago at `hour` local time."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=days), time(hour)))


def midnight(day_offset: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=day_offset), time.min))


def price(model="gpt-4o", valid_from=None, **prices) -> ModelPrice:
    values = {"input_per_million": Decimal("2.50"), "output_per_million": Decimal("10.00"), **prices}
    return ModelPrice.objects.create(model=model, valid_from=valid_from or days_ago(60), **values)


def record(**fields) -> dict:
    return {"model": "gpt-4o", "prompt_tokens": 1000, "completion_tokens": 500, **fields}


def daily(day_offset: int, model="gpt-4o") -> UsageDaily:
    return UsageDaily.objects.get(model=model, day=timezone.localdate() - timedelta(days=day_offset))


# --- prices ---------------------------------------------------------------------------------------

def test_a_record_costs_its_tokens_at_the_price_per_million(client):
    gpt = price()
    response = client.post(USAGE, record(occurred_at=days_ago(1).isoformat()), format="json")
    assert response.status_code == 201
    assert (response.json()["cost"], response.json()["priced"]) == ("0.0075000000", True)
    usage = TokenUsage.objects.get()
    assert (usage.cost, usage.price_id) == (Decimal("0.0075"), gpt.pk)
    row = daily(1)
    assert (row.cost, row.unpriced_records) == (Decimal("0.0075"), 0)


def test_a_record_keeps_the_price_in_force_when_it_occurred(client):
    old = price(valid_from=days_ago(60))
    new = price(valid_from=days_ago(5, hour=0), input_per_million=Decimal("5"), output_per_million=Decimal("20"))
    response = client.post(BATCH, [
        record(request_id="before", occurred_at=days_ago(6).isoformat()),
        record(request_id="at", occurred_at=days_ago(5, hour=0).isoformat()),
        record(request_id="after", occurred_at=days_ago(1).isoformat()),
    ], format="json")
    assert response.status_code == 200
    assert [r["cost"] for r in response.json()["results"]] == ["0.0075000000", "0.0150000000", "0.0150000000"]
    assert dict(TokenUsage.objects.values_list("request_id", "price_id")) == {
        "before": old.pk, "at": new.pk, "after": new.pk}
    assert (daily(6).cost, daily(5).cost, daily(1).cost) == (Decimal("0.0075"), Decimal("0.015"), Decimal("0.015"))


def test_cached_and_reasoning_tokens_have_prices_of_their_own(client):
    price(input_per_million=Decimal("2"), cached_input_per_million=Decimal("0.5"), output_per_million=Decimal("8"),
          reasoning_per_million=Decimal("16"))
    response = client.post(USAGE, record(prompt_tokens=1000, cached_tokens=400, completion_tokens=300,
                                         reasoning_tokens=100), format="json")
    # 600 × 2 + 400 × 0.5 + 200 × 8 + 100 × 16 = 4600 per million
    assert response.json()["cost"] == "0.0046000000"


def test_cached_and_reasoning_tokens_cost_the_ordinary_price_when_theirs_is_blank(client):
    price(input_per_million=Decimal("2"), output_per_million=Decimal("8"))
    response = client.post(USAGE, record(prompt_tokens=1000, cached_tokens=400, completion_tokens=300,
                                         reasoning_tokens=100), format="json")
    assert response.json()["cost"] == "0.0044000000"  # 1000 × 2 + 300 × 8


def test_a_free_model_costs_zero_and_is_priced(client):
    price(model="local-llm", input_per_million=Decimal("0"), output_per_million=Decimal("0"))
    response = client.post(USAGE, record(model="local-llm"), format="json")
    assert (response.json()["cost"], response.json()["priced"]) == ("0.0000000000", True)
    assert UsageDaily.objects.get().unpriced_records == 0


def test_a_model_without_a_price_costs_null_and_is_counted_unpriced(client):
    price(model="gpt-4o")
    price(model="claude-x", valid_from=days_ago(1, hour=0))
    response = client.post(BATCH, [
        record(model="mistral-large"),
        record(model="claude-x", occurred_at=days_ago(2).isoformat()),  # before its first price
        record(model="gpt-4o"),
    ], format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(r["cost"], r["priced"]) for r in results] == [(None, False), (None, False), ("0.0075000000", True)]
    assert TokenUsage.objects.filter(cost__isnull=True).count() == 2
    assert TokenUsage.objects.filter(cost__isnull=True, price__isnull=False).count() == 0
    assert UsageDaily.objects.get(model="mistral-large").unpriced_records == 1
    assert (daily(2, "claude-x").cost, daily(2, "claude-x").unpriced_records) == (Decimal(0), 1)
    month = client.get(ME).json()["usage_month"]
    this_month = sum(1 for r in TokenUsage.objects.filter(cost__isnull=True)
                     if timezone.localdate(r.occurred_at).month == timezone.localdate().month)
    assert month["unpriced_records"] == this_month
    assert month["records"] == TokenUsage.objects.filter(
        occurred_at__gte=timezone.make_aware(datetime.combine(timezone.localdate().replace(day=1), time.min))).count()


def test_the_month_sums_cost_with_six_decimals(client):
    price()
    for n in range(3):
        client.post(USAGE, record(request_id=f"r-{n}"), format="json")
    client.post(USAGE, record(model="sem-preco"), format="json")
    month = client.get(ME).json()["usage_month"]
    assert month["month"] == f"{timezone.localdate():%Y-%m}"
    assert (month["records"], month["cost"], month["unpriced_records"]) == (4, "0.022500", 1)
    assert month["total_tokens"] == 6000


def test_the_price_book_and_the_arithmetic_directly():
    first = price(valid_from=days_ago(10, hour=0))
    second = price(valid_from=days_ago(3, hour=0), input_per_million=Decimal("1"))
    book = PriceBook.for_models(["gpt-4o", "nada"])
    assert book.at("gpt-4o", days_ago(11)) is None
    assert book.at("gpt-4o", days_ago(10, hour=0)) == first
    assert book.at("gpt-4o", days_ago(4)) == first
    assert book.at("gpt-4o", days_ago(3, hour=0)) == second
    assert book.at("gpt-4o", timezone.now()) == second
    assert book.at("nada", timezone.now()) is None
    assert usage_cost(first, prompt_tokens=1, completion_tokens=0, cached_tokens=0, reasoning_tokens=0) == \
        Decimal("0.0000025000")
    assert usage_cost(first, prompt_tokens=10**12, completion_tokens=10**12, cached_tokens=0,
                      reasoning_tokens=0) == Decimal("12500000")


# --- recomputation --------------------------------------------------------------------------------

def test_recomputing_after_a_price_is_added_prices_exactly_the_period_asked(client, issued):
    client.post(BATCH, [
        record(request_id="a", occurred_at=days_ago(3).isoformat(), conversation_id="c-1"),
        record(request_id="b", occurred_at=days_ago(3, hour=20).isoformat()),
        record(request_id="c", occurred_at=days_ago(2).isoformat(), conversation_id="c-1"),
        record(request_id="d", occurred_at=days_ago(3).isoformat(), model="outro"),
    ], format="json")
    assert TokenUsage.objects.filter(cost__isnull=True).count() == 4
    gpt = price(valid_from=days_ago(30))
    price(model="outro", valid_from=days_ago(30))

    changed = usage_costs_recompute(start=midnight(3), end=midnight(2), models=["gpt-4o"])

    assert changed == 2
    costs = dict(TokenUsage.objects.values_list("request_id", "cost"))
    assert costs == {"a": Decimal("0.0075"), "b": Decimal("0.0075"), "c": None, "d": None}
    assert set(TokenUsage.objects.filter(cost__isnull=False).values_list("price_id", flat=True)) == {gpt.pk}
    day3 = daily(3)
    assert (day3.records, day3.cost, day3.unpriced_records, day3.total_tokens) == (2, Decimal("0.015"), 0, 3000)
    assert (daily(3, "outro").cost, daily(3, "outro").unpriced_records) == (Decimal(0), 1)
    assert (daily(2).cost, daily(2).unpriced_records) == (Decimal(0), 1)
    conversation = UsageConversationDaily.objects.get(conversation_id="c-1", day=timezone.localdate() - timedelta(3))
    assert (conversation.records, conversation.cost) == (1, Decimal("0.0075"))
    assert UsageConversationDaily.objects.get(conversation_id="c-1", day=timezone.localdate() - timedelta(2)).cost \
        == Decimal(0)
    assert usage_costs_recompute(start=midnight(3), end=midnight(2), models=["gpt-4o"]) == 0


def test_recomputing_a_period_within_a_day_leaves_the_rest_of_the_day_as_it_was(client):
    client.post(BATCH, [record(request_id="morning", occurred_at=days_ago(2, hour=8).isoformat()),
                        record(request_id="evening", occurred_at=days_ago(2, hour=20).isoformat())], format="json")
    price(valid_from=days_ago(30))
    changed = usage_costs_recompute(start=days_ago(2, hour=0), end=days_ago(2, hour=12))
    assert changed == 1
    assert dict(TokenUsage.objects.values_list("request_id", "cost")) == {"morning": Decimal("0.0075"), "evening": None}
    row = daily(2)
    assert (row.records, row.cost, row.unpriced_records) == (2, Decimal("0.0075"), 1)


def test_recomputing_after_a_correction_changes_costs_and_sums(client, issued):
    wrong = price(valid_from=days_ago(30), input_per_million=Decimal("25"))
    other = bots.bot_create(name="Suporte", scopes="usage:write")
    client.post(BATCH, [record(request_id=f"r-{n}", occurred_at=days_ago(4).isoformat()) for n in range(3)],
                format="json")
    APIClient().post(USAGE, record(occurred_at=days_ago(4).isoformat(), model="sem-preco"), format="json",
                     HTTP_X_BOT_ID=other.bot.bot_id, HTTP_X_BOT_TOKEN=other.token)
    assert daily(4).cost == Decimal("0.09")  # 3 × (1000 × 25 + 500 × 10) / 10⁶
    ModelPrice.objects.filter(pk=wrong.pk).update(input_per_million=Decimal("2.50"))

    assert usage_costs_recompute(start=midnight(4), end=midnight(3)) == 3

    assert set(TokenUsage.objects.filter(model="gpt-4o").values_list("cost", flat=True)) == {Decimal("0.0075")}
    row = daily(4)
    assert (row.bot_id, row.records, row.cost, row.total_tokens) == (issued.bot.pk, 3, Decimal("0.0225"), 4500)
    theirs = daily(4, "sem-preco")
    assert (theirs.bot_id, theirs.records, theirs.unpriced_records, theirs.cost) == (other.bot.pk, 1, 1, Decimal(0))
    assert UsageDaily.objects.count() == 2


def test_recomputing_after_a_price_is_removed_flags_the_records_unpriced_again(client):
    gpt = price(valid_from=days_ago(30))
    client.post(USAGE, record(occurred_at=days_ago(2).isoformat()), format="json")
    gpt.delete()
    assert usage_costs_recompute(start=midnight(2), end=midnight(1)) == 1
    usage = TokenUsage.objects.get()
    assert (usage.cost, usage.price_id) == (None, None)
    assert (daily(2).cost, daily(2).unpriced_records) == (Decimal(0), 1)


def test_a_record_after_recomputation_adds_to_the_rebuilt_sums(client):
    client.post(USAGE, record(request_id="a", occurred_at=days_ago(1).isoformat()), format="json")
    price(valid_from=days_ago(30))
    usage_costs_recompute(start=midnight(1), end=midnight(0))
    client.post(USAGE, record(request_id="b", occurred_at=days_ago(1, hour=13).isoformat()), format="json")
    row = daily(1)
    assert (row.records, row.cost, row.unpriced_records) == (2, Decimal("0.015"), 0)


def test_recomputing_loads_the_prices_of_each_model_once(client, monkeypatch):
    client.post(BATCH, [record(occurred_at=days_ago(1, hour=h).isoformat()) for h in range(8, 14)]
                + [record(model="outro", occurred_at=days_ago(1).isoformat())], format="json")
    asked = []
    real = PriceBook.for_models

    def for_models(models):
        asked.append(list(models))
        return real(models)

    monkeypatch.setattr(services.PriceBook, "for_models", for_models)
    usage_costs_recompute(start=midnight(1), end=midnight(0))
    assert sorted(asked[0]) == ["gpt-4o", "outro"]


def test_the_largest_record_at_the_largest_price_is_costed_not_refused_with_a_server_error(client):
    price(input_per_million=Decimal("99999999.999999"), output_per_million=Decimal("99999999.999999"))
    response = client.post(USAGE, record(prompt_tokens=10**12, completion_tokens=10**12), format="json")
    assert response.status_code == 201, response.content
    assert Decimal(response.json()["cost"]) == Decimal("199999999999998")
    assert daily(0).cost == Decimal("199999999999998")
