"""project.intake, the idempotent intake shared by token usage and bot events: keys stored once,
counters that add up under concurrency, batch shapes, and the moments clients report."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts import bots
from accounts.models import BotEvent, IntakeTally
from project import intake
from project.intake import ItemResult

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
PAST = timedelta(days=90)
FUTURE = timedelta(minutes=5)


def parse(value, **kwargs):
    return intake.parse_timestamp(value, past=kwargs.pop("past", PAST), future=kwargs.pop("future", FUTURE),
                                  now=NOW, **kwargs)


def event_row(bot, key, name="new_message"):
    return {"bot_id": bot.pk, "event": name, "payload": {}, "extra": {}, "event_id": key, "fingerprint": "f",
            "occurred_at": NOW, "received_at": NOW, "user_ref": "", "order_ref": ""}


# --- parse_timestamp --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "2026-12-03T12:00:00Z",
    "2026-12-03T09:00:00-03:00",
    " 2026-12-03T12:00:00+00:00 ",
    "2026-12-03T09:00:00",  # no offset: the server's TIME_ZONE (America/Sao_Paulo, -03:00)
    int(NOW.timestamp()),
    float(NOW.timestamp()),
    int(NOW.timestamp()) * 1000,  # JavaScript's Date.now()
])
def test_it_reads_iso_8601_and_seconds_or_milliseconds_since_the_epoch(value, settings):
    assert settings.TIME_ZONE == "America/Sao_Paulo"
    assert parse(value) == NOW


def test_it_keeps_the_fraction_of_a_second_of_an_epoch_in_milliseconds():
    assert parse(int(NOW.timestamp()) * 1000 + 250) == NOW + timedelta(milliseconds=250)


@pytest.mark.parametrize("value", [True, False, None, [], {}])
def test_it_refuses_what_is_neither_a_date_nor_a_number(value):
    with pytest.raises(ValueError, match=r"^informe uma data ISO 8601 ou um número de segundos \(ou milissegundos\) "
                                         r"desde 1970$"):
        parse(value)


@pytest.mark.parametrize("value", ["ontem", "", "2026-13-45T00:00:00", "03/12/2026"])
def test_it_refuses_a_text_that_is_not_iso_8601_with_an_example(value):
    with pytest.raises(ValueError, match=r"^data inválida: use ISO 8601, por exemplo 2026-12-03T10:15:00-03:00$"):
        parse(value)


def test_it_refuses_an_epoch_out_of_the_range_of_dates():
    with pytest.raises(ValueError, match="^número fora do intervalo de datas$"):
        parse(10**20)


def test_it_accepts_up_to_the_limits_and_refuses_beyond_them_naming_each():
    assert parse((NOW + FUTURE).isoformat()) == NOW + FUTURE
    assert parse((NOW - PAST).isoformat()) == NOW - PAST
    with pytest.raises(ValueError, match=r"^data no futuro: no máximo 5 minuto\(s\) à frente do relógio do servidor$"):
        parse((NOW + FUTURE + timedelta(seconds=1)).isoformat())
    with pytest.raises(ValueError, match=r"^data antiga demais: aceitam-se até 90 dia\(s\) atrás$"):
        parse((NOW - PAST - timedelta(seconds=1)).isoformat())
    with pytest.raises(ValueError, match=r"no máximo 30 s à frente"):
        parse((NOW + timedelta(minutes=1)).isoformat(), future=timedelta(seconds=30))


def test_it_measures_against_the_server_clock_by_default():
    assert abs(intake.parse_timestamp(timezone.now().timestamp(), past=PAST, future=FUTURE) - timezone.now()) \
        < timedelta(seconds=5)
    with pytest.raises(ValueError, match="data no futuro"):
        intake.parse_timestamp(NOW.replace(year=2099).isoformat(), past=PAST, future=FUTURE)


# --- batches ----------------------------------------------------------------------------------

def test_a_batch_is_a_list_or_an_object_holding_only_the_list():
    items = [{"a": 1}, {"b": 2}]
    assert intake.batch_items(items, wrapper="records", max_items=5, noun="registros") == items
    assert intake.batch_items({"records": items}, wrapper="records", max_items=5, noun="registros") == items


@pytest.mark.parametrize("data", [{"records": [{}], "extra": 1}, {"events": [{}]}, {}, "x", 3, None, {"records": {}}])
def test_anything_else_is_not_a_batch(data):
    with pytest.raises(intake.IntakeError) as refused:
        intake.batch_items(data, wrapper="records", max_items=5, noun="registros")
    assert (refused.value.status, refused.value.code) == (400, "not_a_list")
    assert refused.value.message == 'Envie uma lista JSON de registros, ou um objeto {"records": [...]}.'


@pytest.mark.parametrize("data", [[], {"events": []}])
def test_an_empty_batch_is_refused(data):
    with pytest.raises(intake.IntakeError) as refused:
        intake.batch_items(data, wrapper="events", max_items=5, noun="eventos")
    assert (refused.value.status, refused.value.code) == (400, "empty")
    assert refused.value.message == "O lote está vazio: envie ao menos um item em events."


def test_a_batch_over_the_limit_is_413_naming_the_limit():
    assert len(intake.batch_items([{}] * 5, wrapper="events", max_items=5, noun="eventos")) == 5
    with pytest.raises(intake.IntakeError) as refused:
        intake.batch_items([{}] * 6, wrapper="events", max_items=5, noun="eventos")
    assert (refused.value.status, refused.value.code) == (413, "too_many_items")
    assert refused.value.message == "Lote grande demais: 6 itens; o limite é de 5 eventos por lote."


def results(*statuses):
    return [ItemResult(index=n, status=status) for n, status in enumerate(statuses)]


@pytest.mark.parametrize(("statuses", "http_status"), [
    (("accepted",), 200),
    (("accepted", "duplicate"), 200),
    (("duplicate", "duplicate"), 200),
    (("accepted", "rejected"), 207),
    (("rejected", "duplicate", "accepted"), 207),
    (("rejected",), 422),
    (("rejected", "rejected"), 422),
])
def test_a_batch_is_200_when_nothing_was_refused_207_when_some_422_when_all(statuses, http_status):
    assert intake.batch_http_status(results(*statuses)) == http_status


def test_the_summary_counts_each_outcome_and_lists_results_in_request_order():
    summary = intake.batch_summary([
        ItemResult(index=0, status="accepted", key="a", id=7, extra={"cost": None}),
        ItemResult(index=1, status="rejected", reason="invalid", message="m", errors={"x": ["campo desconhecido"]}),
        ItemResult(index=2, status="duplicate", key="a", id=7),
    ])
    assert summary == {"accepted": 1, "duplicate": 1, "rejected": 1, "results": [
        {"index": 0, "status": "accepted", "key": "a", "id": 7, "cost": None},
        {"index": 1, "status": "rejected", "reason": "invalid", "message": "m",
         "errors": {"x": ["campo desconhecido"]}},
        {"index": 2, "status": "duplicate", "key": "a", "id": 7},
    ]}


def test_an_item_result_leaves_out_what_it_does_not_have():
    assert ItemResult(index=3, status="accepted").as_dict() == {"index": 3, "status": "accepted"}
    assert ItemResult(index=0, status="accepted", key="", id=0).as_dict() == {
        "index": 0, "status": "accepted", "key": "", "id": 0}


def test_an_intake_error_defaults_to_400_invalid():
    error = intake.IntakeError("Algo errado.")
    assert (error.status, error.code, error.message, str(error)) == (400, "invalid", "Algo errado.", "Algo errado.")


# --- fingerprints and sizes -------------------------------------------------------------------

def test_a_fingerprint_ignores_the_order_of_keys_and_tells_values_apart():
    first = intake.fingerprint({"model": "gpt-4o", "metadata": {"a": 1, "b": "ação"}})
    assert first == intake.fingerprint({"metadata": {"b": "ação", "a": 1}, "model": "gpt-4o"})
    assert len(first) == 64
    assert first != intake.fingerprint({"model": "gpt-4o", "metadata": {"a": 2, "b": "ação"}})
    assert first != intake.fingerprint({"model": "gpt-4o", "metadata": {"a": "1", "b": "ação"}})


def test_a_json_size_is_the_utf8_bytes_of_compact_json():
    assert intake.json_size({"a": "é"}) == len('{"a":"é"}'.encode()) == 10
    assert intake.json_size([1, 2]) == 5


# --- insert_new and increment, against the database -------------------------------------------

@pytest.fixture
def bot():
    return bots.bot_create(name="Intake", scopes="events:write").bot


@pytest.mark.django_db
def test_insert_new_stores_each_key_once_and_every_keyless_row(bot):
    before = intake.insert_new(BotEvent, [event_row(bot, "a")], scope_field="bot", key_field="event_id")
    assert list(before) == [0]
    rows = [event_row(bot, "a"), event_row(bot, None), event_row(bot, "b"), event_row(bot, "b"),
            event_row(bot, None)]
    inserted = intake.insert_new(BotEvent, rows, scope_field="bot", key_field="event_id")
    assert sorted(inserted) == [1, 2, 4]
    assert BotEvent.objects.get(pk=inserted[2]).event_id == "b"
    assert inserted[1] < inserted[4]
    assert {BotEvent.objects.get(pk=inserted[n]).event_id for n in (1, 4)} == {None}
    assert BotEvent.objects.count() == 4
    assert BotEvent.objects.filter(event_id="a").get().pk == before[0]


@pytest.mark.django_db
def test_insert_new_scopes_keys_per_bot_and_takes_no_rows(bot):
    other = bots.bot_create(name="Outro", scopes="events:write").bot
    assert intake.insert_new(BotEvent, [], scope_field="bot", key_field="event_id") == {}
    intake.insert_new(BotEvent, [event_row(bot, "same")], scope_field="bot", key_field="event_id")
    inserted = intake.insert_new(BotEvent, [event_row(other, "same")], scope_field="bot", key_field="event_id")
    assert list(inserted) == [0]
    assert BotEvent.objects.filter(event_id="same").count() == 2


@pytest.mark.django_db
def test_insert_new_takes_more_rows_than_one_statement_holds(bot):
    rows = [event_row(bot, f"k{n}") for n in range(2500)]
    inserted = intake.insert_new(BotEvent, rows, scope_field="bot", key_field="event_id")
    assert sorted(inserted) == list(range(2500))
    assert {e.pk: e.event_id for e in BotEvent.objects.all()} == {inserted[n]: f"k{n}" for n in range(2500)}


def tally_row(bot, outcome, count, day):
    return {"bot": bot.pk, "stream": "usage", "outcome": outcome, "day": day, "count": count}


@pytest.mark.django_db
def test_increment_creates_the_row_then_adds_to_it(bot):
    day = NOW.date()
    intake.increment(IntakeTally, [], keys=("bot", "stream", "outcome", "day"), sums=("count",))
    assert not IntakeTally.objects.exists()
    intake.increment(IntakeTally, [tally_row(bot, "accepted", 2, day), tally_row(bot, "rejected", 1, day)],
                     keys=("bot", "stream", "outcome", "day"), sums=("count",))
    intake.increment(IntakeTally, [tally_row(bot, "accepted", 3, day)], keys=("bot", "stream", "outcome", "day"),
                     sums=("count",))
    assert dict(IntakeTally.objects.values_list("outcome", "count")) == {"accepted": 5, "rejected": 1}


@pytest.mark.django_db(transaction=True)
def test_increment_loses_no_count_under_concurrent_requests(bot):
    day = NOW.date()
    start = threading.Barrier(6)
    errors = []

    def add():
        try:
            start.wait(timeout=10)
            for _ in range(10):
                intake.increment(IntakeTally, [tally_row(bot, "accepted", 1, day)],
                                 keys=("bot", "stream", "outcome", "day"), sums=("count",))
        except Exception as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=add) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert IntakeTally.objects.get(bot=bot, outcome="accepted").count == 60
