"""usage_recompute_costs: days in TIME_ZONE with --to included, only the models named, and a plain
error (exit 1) for a date it cannot read."""

import os
import subprocess
import sys
from datetime import datetime, time, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import bots
from accounts.models import ModelPrice, TokenUsage, UsageDaily
from accounts.usage.services import usage_record_many

BASE_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("usage_recompute_costs", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def bot():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write").bot


def local(day, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def record(bot, moment: datetime, model: str = "gpt-4o") -> TokenUsage:
    result = usage_record_many(bot=bot, items=[{
        "model": model, "prompt_tokens": 1_000_000, "completion_tokens": 0, "occurred_at": moment.isoformat(),
    }]).results[0]
    return TokenUsage.objects.get(pk=result.id)


def price(model: str, input_price: str) -> ModelPrice:
    return ModelPrice.objects.create(model=model, valid_from=timezone.now() - timedelta(days=60),
                                     input_per_million=Decimal(input_price), output_per_million=Decimal("0"))


def test_it_reprices_the_days_between_from_and_to_including_the_last(bot):
    today = timezone.localdate()
    first, last = today - timedelta(days=4), today - timedelta(days=2)
    before = record(bot, local(first - timedelta(days=1), 23, 30))
    inside_first, inside_last = record(bot, local(first, 0, 0)), record(bot, local(last, 23, 59))
    after = record(bot, local(last + timedelta(days=1), 0, 0))
    price("gpt-4o", "2")

    out, err = run("--from", f"{first}", "--to", f"{last}")

    assert out == f"2 usage record(s) changed cost between {first} and {last} (America/Sao_Paulo).\n"
    assert err == ""
    costs = {usage.pk: usage.cost for usage in TokenUsage.objects.all()}
    assert costs[inside_first.pk] == costs[inside_last.pk] == Decimal("2")
    assert costs[before.pk] is None and costs[after.pk] is None
    assert UsageDaily.objects.get(day=last).cost == Decimal("2")
    assert UsageDaily.objects.get(day=last).unpriced_records == 0


def test_it_reprices_only_the_models_named(bot):
    yesterday = timezone.localdate() - timedelta(days=1)
    gpt, claude, llama = (record(bot, local(yesterday, 10), model) for model in ("gpt-4o", "claude", "llama"))
    for model in ("gpt-4o", "claude", "llama"):
        price(model, "1")

    out, _ = run("--from", f"{yesterday}", "--to", f"{yesterday}", "--model", "gpt-4o", "--model", "claude")

    assert out.startswith("2 usage record(s) of claude, gpt-4o changed cost")
    assert TokenUsage.objects.get(pk=llama.pk).cost is None
    assert TokenUsage.objects.get(pk=gpt.pk).cost == TokenUsage.objects.get(pk=claude.pk).cost == Decimal("1")


def test_running_it_again_changes_nothing(bot):
    yesterday = timezone.localdate() - timedelta(days=1)
    record(bot, local(yesterday, 10))
    price("gpt-4o", "1")
    run("--from", f"{yesterday}", "--to", f"{yesterday}")

    out, _ = run("--from", f"{yesterday}", "--to", f"{yesterday}")

    assert out.startswith("0 usage record(s) changed cost")


def test_it_says_when_a_model_named_has_no_price(bot):
    yesterday = timezone.localdate() - timedelta(days=1)
    record(bot, local(yesterday, 10), "sem-preco")

    out, err = run("--from", f"{yesterday}", "--to", f"{yesterday}", "--model", "sem-preco")

    assert out.startswith("0 usage record(s) of sem-preco")
    assert err == "Model 'sem-preco' has no price: its records stay without a cost.\n"


@pytest.mark.parametrize(("args", "message"), [
    (("--from", "01/12/2026", "--to", "2026-12-02"), "--from '01/12/2026' is not a date: write it as YYYY-MM-DD"),
    (("--from", "2026-12-01", "--to", "2026-13-01"), "--to '2026-13-01' is not a date"),
    (("--from", "2026-12-02", "--to", "2026-12-01"), "--to (2026-12-01) is before --from (2026-12-02)."),
])
def test_it_refuses_dates_it_cannot_use_in_words(args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(*args)


def test_manage_py_exits_1_with_the_error_on_stderr_for_a_bad_date(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    result = subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), "usage_recompute_costs",
                             "--from", "ontem", "--to", "2026-12-01"],
                            env=env, capture_output=True, text=True, cwd=BASE_DIR)

    assert result.returncode == 1 and result.stdout == ""
    assert "--from 'ontem' is not a date: write it as YYYY-MM-DD" in result.stderr
