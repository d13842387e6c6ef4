"""Bot notifications on the channel layer, built here and sent through project.live.

Staff pages that follow bots (the events page, the usage dashboard) listen on the group `bots`:
`bot.event` for each event stored (coalesced per bot, like a job's stream) and `budget.alert`
when a bot passes its monthly warning threshold or its limit. Publishing is best effort: an
event or a record is never refused because Redis could not carry the notification.
"""

from decimal import Decimal

from project import live
from project.clock import iso_local

BOTS_GROUP = "bots"
EVENT = "bot.event"
BUDGET_ALERT = "budget.alert"


def bot_events_publish(bot, events) -> None:
    """The events just stored for `bot`, newest last."""
    for event in events:
        live.publish((BOTS_GROUP,), {
            "type": EVENT,
            "id": event.pk,
            "bot_id": bot.bot_id,
            "bot_name": bot.name,
            "event": event.event,
            "occurred_at": iso_local(event.occurred_at),
            "received_at": iso_local(event.received_at),
        }, stream=f"bot-events:{bot.bot_id}")


def budget_alert_publish(alert) -> None:
    live.publish((BOTS_GROUP,), {
        "type": BUDGET_ALERT,
        "bot_id": alert.bot.bot_id,
        "bot_name": alert.bot.name,
        "level": alert.level,
        "used": _amount(alert.used, alert.unit),
        "budget": _amount(alert.budget, alert.unit),
        "unit": alert.unit,
        "created_at": iso_local(alert.created_at),
    })


def _amount(value, unit: str) -> str:
    """Whole tokens, or USD with six decimals, as the budget's headers write them."""
    return str(int(value)) if unit == "tokens" else f"{Decimal(value):.6f}"
