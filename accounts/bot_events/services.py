"""The verbs of bot events: record one or a batch, once per event `id`."""

from collections import defaultdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts import notifications
from accounts.models import Bot, BotEvent, IntakeTally
from accounts.tallies import intake_tally
from project import intake
from project.intake import ACCEPTED, DUPLICATE, REJECTED, ItemResult

MAX_EVENT_NAME = 100
MAX_ID = 200
MAX_REF = 200
KNOWN = ("event", "payload", "id", "timestamp")
# An event may say when it happened up to this long ago (a bot's fallback queue resends late).
MAX_AGE = timedelta(days=30)
MAX_AHEAD = timedelta(minutes=5)


class EventInvalid(Exception):
    def __init__(self, errors: dict[str, list[str]], *, reason: str = "invalid"):
        super().__init__("; ".join(f"{name}: {' '.join(messages)}" for name, messages in errors.items()))
        self.errors = errors
        self.reason = reason


def bot_events_record(*, bot: Bot, items: list[Any]) -> list[ItemResult]:
    """Store each event of `items` for `bot` and say what became of each: `accepted`, `duplicate`
    (its `id` was stored already with the same content: not stored again) or `rejected` (invalid,
    too large, or an `id` already used for another event: `conflict`)."""
    now = timezone.now()
    results: list[ItemResult | None] = [None] * len(items)
    rows: list[dict] = []
    for position, item in enumerate(items):
        try:
            rows.append({**_event_clean(item, now=now), "bot_id": bot.pk, "received_at": now, "_position": position})
        except EventInvalid as invalid:
            results[position] = ItemResult(index=position, status=REJECTED, key=_raw_id(item), reason=invalid.reason,
                                           message=str(invalid), errors=invalid.errors)
    with transaction.atomic():
        inserted = intake.insert_new(BotEvent, rows, scope_field="bot", key_field="event_id")
        stored, missing = [], defaultdict(list)
        for index, row in enumerate(rows):
            if index in inserted:
                row["id"] = inserted[index]
                stored.append(row)
                results[row["_position"]] = ItemResult(index=row["_position"], status=ACCEPTED, key=row["event_id"],
                                                       id=row["id"])
            else:
                missing[row["event_id"]].append(row)
        if missing:
            existing = {e["event_id"]: e for e in BotEvent.objects.filter(bot=bot, event_id__in=list(missing))
                        .values("id", "event_id", "fingerprint")}
            for key, repeats in missing.items():
                first = existing.get(key)
                for row in repeats:
                    position = row["_position"]
                    if first is not None and first["fingerprint"] == row["fingerprint"]:
                        results[position] = ItemResult(index=position, status=DUPLICATE, key=key, id=first["id"])
                    else:
                        results[position] = ItemResult(
                            index=position, status=REJECTED, key=key, reason="conflict",
                            message=f"O id {key!r} já foi usado por este bot para outro evento: um reenvio deve "
                                    "repetir o mesmo evento; um evento novo precisa de outro id.",
                            errors={"id": ["já usado para outro evento"]})
        counts = {ACCEPTED: 0, DUPLICATE: 0, REJECTED: 0,
                  IntakeTally.Outcome.UNKEYED: sum(1 for row in stored if row["event_id"] is None)}
        for result in results:
            counts[result.status] += 1
        intake_tally(bot=bot, stream=IntakeTally.Stream.EVENTS, counts=counts, day=now)
        if stored:
            events = [BotEvent(pk=row["id"], event=row["event"], occurred_at=row["occurred_at"], received_at=now)
                      for row in stored]
            transaction.on_commit(lambda: notifications.bot_events_publish(bot, events))
    return results


def _event_clean(item: Any, *, now) -> dict:
    if not isinstance(item, dict):
        raise EventInvalid({"evento": ['deve ser um objeto JSON {"event": "…", "payload": {…}}']})
    size = intake.json_size(item)
    if size > settings.EVENT_MAX_BYTES:
        raise EventInvalid({"evento": [f"grande demais: {size} bytes; o limite é de {settings.EVENT_MAX_BYTES} "
                                       "bytes por evento em JSON"]}, reason="too_large")
    errors: dict[str, list[str]] = {}
    name = item.get("event")
    if not isinstance(name, str) or not name.strip():
        errors["event"] = ["campo obrigatório: um texto não vazio" if name is None or isinstance(name, str)
                           else "deve ser um texto"]
    elif len(name.strip()) > MAX_EVENT_NAME:
        errors["event"] = [f"longo demais: no máximo {MAX_EVENT_NAME} caracteres"]
    payload = item.get("payload")
    if payload is None:
        errors["payload"] = ["campo obrigatório: um objeto JSON"]
    elif not isinstance(payload, dict):
        errors["payload"] = ["deve ser um objeto JSON"]
    event_id = item.get("id")
    if event_id is not None:
        if isinstance(event_id, bool) or not isinstance(event_id, str | int):
            errors["id"] = ["deve ser um texto ou um número inteiro"]
        else:
            event_id = str(event_id).strip()
            if not event_id or len(event_id) > MAX_ID:
                errors["id"] = [f"de 1 a {MAX_ID} caracteres"]
    occurred_at = now
    if item.get("timestamp") is not None:
        try:
            occurred_at = intake.parse_timestamp(item["timestamp"], now=now, past=MAX_AGE, future=MAX_AHEAD)
        except ValueError as exc:
            errors["timestamp"] = [str(exc)]
    if errors:
        raise EventInvalid(errors)
    extra = {key: value for key, value in item.items() if key not in KNOWN}
    return {
        "event": name.strip(), "payload": payload, "extra": extra, "event_id": event_id,
        # Not the timestamp nor the extra fields: a client may stamp each attempt anew.
        "fingerprint": intake.fingerprint({"event": name.strip(), "payload": payload}),
        "occurred_at": occurred_at,
        "user_ref": _ref(payload.get("userId")), "order_ref": _ref(payload.get("orderId")),
    }


def _ref(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)[:MAX_REF]


def _raw_id(item: Any) -> str | None:
    if isinstance(item, dict) and isinstance(item.get("id"), str | int) and not isinstance(item.get("id"), bool):
        return str(item["id"])[:MAX_ID]
    return None
