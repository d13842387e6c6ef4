"""/ws/notifications' `bots` stream: who may follow it, the bot_event and budget_alert frames
(one per event, also when the publisher gathers a burst into one batch), and leaving it. The
whole ASGI application with the real Redis channel layer, as tests/jobs/test_notifications.py."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import bots
from accounts.bot_events import services as event_services
from accounts.models import ModelPrice
from accounts.usage import services as usage_services
from tests.accounts.test_usage_pages import grant
from tests.jobs.test_notifications import connect_as, next_frames, publish, run, send

pytestmark = pytest.mark.django_db(transaction=True)

SUBSCRIBE = {"action": "subscribe", "stream": "bots"}
SUBSCRIBED = {"type": "subscribed", "stream": "bots"}


@pytest.fixture
def sales():
    return bots.bot_create(name="Vendas WhatsApp", scopes="usage:write,events:write").bot


def store_events(bot, *names):
    for name in names:
        event_services.bot_events_record(bot=bot, items=[{"event": name, "payload": {"n": name}}])


def spend(bot, tokens: int):
    usage_services.usage_record_many(bot=bot, items=[{"model": "gpt-x", "prompt_tokens": tokens,
                                                      "completion_tokens": 0}])


def test_an_event_stored_reaches_who_may_see_bot_events(alice, sales):
    grant(alice, "view_botevent")

    async def scenario():
        communicator = await connect_as(alice)
        assert await send(communicator, SUBSCRIBE) == SUBSCRIBED
        await publish(store_events, sales, "order_created")
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["type"] == "bot_event" and isinstance(frame["id"], int)
        assert (frame["bot_id"], frame["bot_name"], frame["event"]) == (sales.bot_id, "Vendas WhatsApp",
                                                                          "order_created")
        assert frame["received_at"].endswith("-03:00") and frame["occurred_at"]
        await communicator.disconnect()

    run(scenario)


def test_a_burst_gathered_into_one_batch_arrives_as_one_frame_per_event(alice, sales):
    grant(alice, "view_botevent")

    async def scenario():
        communicator = await connect_as(alice)
        await send(communicator, SUBSCRIBE)
        names = [f"step_{n}" for n in range(6)]
        await publish(store_events, sales, *names)
        frames = await next_frames(communicator, len(names))
        assert [frame["event"] for frame in frames] == names
        assert {frame["type"] for frame in frames} == {"bot_event"}
        assert await communicator.receive_nothing(timeout=0.3)
        await communicator.disconnect()

    run(scenario)


def test_a_budget_alert_reaches_who_may_see_usage_only(alice, charlie, sales):
    charlie.is_staff = True
    charlie.save()
    grant(alice, "view_tokenusage")
    grant(charlie, "view_botevent")
    ModelPrice.objects.create(model="gpt-x", valid_from=timezone.now() - timedelta(days=1),
                              input_per_million=Decimal("1"), output_per_million=Decimal("1"))
    sales.budget_unit, sales.monthly_budget, sales.budget_warning_percent = "tokens", 1000, 80
    sales.save()

    async def scenario():
        usage_ws, events_ws = await connect_as(alice), await connect_as(charlie)
        for communicator in (usage_ws, events_ws):
            assert await send(communicator, SUBSCRIBE) == SUBSCRIBED
        await publish(spend, sales, 900)
        frame = await usage_ws.receive_json_from(timeout=5)
        assert frame == {"type": "budget_alert", "bot_id": sales.bot_id, "bot_name": "Vendas WhatsApp",
                         "level": "warning", "used": "900", "budget": "1000", "unit": "tokens",
                         "created_at": frame["created_at"]}
        assert await events_ws.receive_nothing(timeout=0.5)
        # Alice may not see events: the stream brings her none.
        await publish(store_events, sales, "order_created")
        assert (await events_ws.receive_json_from(timeout=5))["type"] == "bot_event"
        assert await usage_ws.receive_nothing(timeout=0.5)
        for communicator in (usage_ws, events_ws):
            await communicator.disconnect()

    run(scenario)


def test_without_the_permission_the_subscription_is_refused(alice, bob, sales):
    grant(bob, "view_botevent")  # but Bob is not staff

    async def scenario():
        for user in (alice, bob):
            communicator = await connect_as(user)
            frame = await send(communicator, SUBSCRIBE)
            assert frame["type"] == "error" and frame["stream"] == "bots"
            assert "accounts.view_botevent" in frame["detail"]
            await publish(store_events, sales, "order_created")
            assert await communicator.receive_nothing(timeout=0.5)
            await communicator.disconnect()

    run(scenario)


def test_after_unsubscribing_nothing_more_arrives(alice, sales):
    grant(alice, "view_botevent")

    async def scenario():
        communicator = await connect_as(alice)
        await send(communicator, SUBSCRIBE)
        assert await send(communicator, {"action": "unsubscribe", "stream": "bots"}) == {
            "type": "unsubscribed", "stream": "bots"}
        await publish(store_events, sales, "order_created")
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(scenario)


def test_an_unknown_stream_is_an_error_and_the_job_protocol_is_unchanged(alice, sales):
    grant(alice, "view_botevent")

    async def scenario():
        communicator = await connect_as(alice)
        assert await send(communicator, {"action": "subscribe", "stream": "everything"}) == {
            "type": "error", "detail": "stream desconhecido: 'everything'. Use \"bots\" ou \"chatbot\"."}
        assert await send(communicator, {"action": "subscribe", "job_id": "*"}) == {
            "type": "subscribed", "job_id": "*"}
        # Following every job brings no bot events.
        await publish(store_events, sales, "order_created")
        assert await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()

    run(scenario)
