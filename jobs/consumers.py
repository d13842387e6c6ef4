"""/ws/notifications (seed 003 §4.3.2, seed 004): live job updates and a person's notifications.

The handshake needs a user (accounts/websocket_auth.py): a JWT in ?token=, a ticket, or the
staff session; anyone else is refused before the socket opens. Then the client sends

    {"action": "subscribe" | "unsubscribe", "job_id": "<uuid>" | "*"}

"*" stands for every job the user may see (what the dashboard's lists use). Frames sent:
`job_update` {type, job_id, data: {status, progress, operadora}} and `log` {type, job_id, level,
message, …} for the jobs subscribed to; `subscribed` / `unsubscribed` acknowledgements (a
subscription to one job starts with its current state); the seller bot's notifications
(`bot_task_started`, …) addressed to the user; and `error` {type, detail} for a frame it cannot
act on — the connection stays open.

Staff pages that follow the bots send {"action": "subscribe" | "unsubscribe", "stream": "bots"}
instead: who holds accounts.view_botevent then gets `bot_event` {type, id, bot_id, bot_name,
event, occurred_at, received_at} for each event stored, and who holds accounts.view_tokenusage
`budget_alert` {type, bot_id, bot_name, level, used, budget, unit, created_at}; anyone else gets
an `error`. Pages that follow the chatbot's conversations send "stream": "chatbot": staff (or
who holds sellerbot.view_conversation) then get `chatbot_conversation` {type, conversation,
messages} for every new message or change of a conversation.
"""

from uuid import UUID

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from accounts import notifications
from jobs import events, selectors
from project import live
from project.jsonbody import JsonTooDeepError, json_loads_bounded
from sellerbot.chatbot import notifications as chatbot_notifications

ALL_JOBS = "*"
# Frames longer than this are refused unread: every message a client may send is tiny.
MAX_FRAME_CHARS = 4096
MAX_SUBSCRIPTIONS = 200
BOTS_STREAM = "bots"
CHATBOT_STREAM = "chatbot"
BOT_EVENT_PERMISSION = "accounts.view_botevent"
USAGE_PERMISSION = "accounts.view_tokenusage"
BOT_NOTIFICATION_TYPES = frozenset({
    "bot_task_started", "bot_task_completed", "bot_task_failed", "bot_worker_started", "bot_worker_stopped",
})


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close()  # before accept(): the handshake is refused (HTTP 403)
            return
        self.user = user
        self.job_ids: set[str] = set()
        self.all_jobs = False
        self.bot_streams: frozenset[str] = frozenset()  # what of the bots stream it receives
        await self.channel_layer.group_add(live.user_group(user.pk), self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection", "message": "Conectado às notificações em tempo real"})

    async def disconnect(self, code):
        if not hasattr(self, "user"):
            return
        groups = [live.user_group(self.user.pk), *(events.job_group(job_id) for job_id in self.job_ids)]
        if self.all_jobs:
            groups.append(events.ALL_JOBS_GROUP)
        if self.bot_streams:
            groups.append(notifications.BOTS_GROUP)
        if getattr(self, "chatbot_stream", False):
            groups.append(chatbot_notifications.CHATBOT_GROUP)
        for group in groups:
            await self.channel_layer.group_discard(group, self.channel_name)

    # --- what the client sends -----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if text_data is None:
            return await self.error("Envie mensagens de texto em JSON, não binárias.")
        if len(text_data) > MAX_FRAME_CHARS:
            return await self.error(f"Mensagem grande demais: o limite é de {MAX_FRAME_CHARS} caracteres.")
        try:
            content = json_loads_bounded(text_data)
        except JsonTooDeepError as exc:
            return await self.error(f"Mensagem não é um JSON aceito: {exc}")
        except ValueError:
            return await self.error("Mensagem não é um JSON válido.")
        if not isinstance(content, dict):
            return await self.error('Envie um objeto JSON: {"action": "subscribe", "job_id": "…"}.')
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        action = content.get("action")
        if action not in ("subscribe", "unsubscribe"):
            return await self.error(f"Ação desconhecida: {action!r}. Use 'subscribe' ou 'unsubscribe'.")
        if "stream" in content:
            return await self.stream_action(action, content["stream"])
        job_id = content.get("job_id")
        if job_id == ALL_JOBS:
            return await (self.subscribe_all() if action == "subscribe" else self.unsubscribe_all())
        if not isinstance(job_id, str) or not _is_uuid(job_id):
            return await self.error(f"job_id inválido: {job_id!r}. Informe o id (UUID) de um job ou \"*\".")
        job_id = str(UUID(job_id))
        await (self.subscribe(job_id) if action == "subscribe" else self.unsubscribe(job_id))

    async def subscribe(self, job_id: str) -> None:
        if job_id not in self.job_ids and len(self.job_ids) >= MAX_SUBSCRIPTIONS:
            return await self.error(f"Limite de {MAX_SUBSCRIPTIONS} inscrições por conexão atingido.")
        state = await _job_state(self.user, job_id)
        if state is None:
            return await self.error("Job não encontrado", job_id=job_id)
        if job_id not in self.job_ids and not self.all_jobs:
            await self.channel_layer.group_add(events.job_group(job_id), self.channel_name)
        self.job_ids.add(job_id)
        await self.send_json({"type": "subscribed", "job_id": job_id})
        await self.send_json({"type": "job_update", "job_id": job_id, "data": state})

    async def unsubscribe(self, job_id: str) -> None:
        if job_id in self.job_ids:
            self.job_ids.discard(job_id)
            if not self.all_jobs:
                await self.channel_layer.group_discard(events.job_group(job_id), self.channel_name)
        await self.send_json({"type": "unsubscribed", "job_id": job_id})

    async def subscribe_all(self) -> None:
        # One membership at a time, so no event arrives twice: `jobs` covers every job group.
        if not self.all_jobs:
            self.all_jobs = True
            await self.channel_layer.group_add(events.ALL_JOBS_GROUP, self.channel_name)
            for job_id in self.job_ids:
                await self.channel_layer.group_discard(events.job_group(job_id), self.channel_name)
        await self.send_json({"type": "subscribed", "job_id": ALL_JOBS})

    async def unsubscribe_all(self) -> None:
        if self.all_jobs:
            for job_id in self.job_ids:
                await self.channel_layer.group_add(events.job_group(job_id), self.channel_name)
            await self.channel_layer.group_discard(events.ALL_JOBS_GROUP, self.channel_name)
            self.all_jobs = False
        await self.send_json({"type": "unsubscribed", "job_id": ALL_JOBS})

    async def stream_action(self, action: str, stream) -> None:
        if stream == CHATBOT_STREAM:
            return await self.chatbot_stream_action(action)
        if stream != BOTS_STREAM:
            return await self.error(f"stream desconhecido: {stream!r}. Use \"{BOTS_STREAM}\" ou "
                                    f"\"{CHATBOT_STREAM}\".")
        if action == "unsubscribe":
            if self.bot_streams:
                await self.channel_layer.group_discard(notifications.BOTS_GROUP, self.channel_name)
                self.bot_streams = frozenset()
            return await self.send_json({"type": "unsubscribed", "stream": BOTS_STREAM})
        allowed = await _bot_stream_types(self.user)
        if not allowed:
            return await self.error("Sem permissão para acompanhar os bots (accounts.view_botevent ou "
                                    "accounts.view_tokenusage).", stream=BOTS_STREAM)
        if not self.bot_streams:
            await self.channel_layer.group_add(notifications.BOTS_GROUP, self.channel_name)
        self.bot_streams = allowed
        await self.send_json({"type": "subscribed", "stream": BOTS_STREAM})

    async def chatbot_stream_action(self, action: str) -> None:
        group = chatbot_notifications.CHATBOT_GROUP
        if action == "unsubscribe":
            await self.channel_layer.group_discard(group, self.channel_name)
            self.chatbot_stream = False
            return await self.send_json({"type": "unsubscribed", "stream": CHATBOT_STREAM})
        if not await _may_read_conversations(self.user):
            return await self.error("Sem permissão para acompanhar as conversas do chatbot (conta da equipe ou "
                                    "sellerbot.view_conversation).", stream=CHATBOT_STREAM)
        await self.channel_layer.group_add(group, self.channel_name)
        self.chatbot_stream = True
        await self.send_json({"type": "subscribed", "stream": CHATBOT_STREAM})

    async def chatbot_conversation(self, event):
        if getattr(self, "chatbot_stream", False):
            await self.send_json({**_without_type(event), "type": "chatbot_conversation"})

    async def error(self, detail: str, **extra) -> None:
        await self.send_json({"type": "error", "detail": detail, **extra})

    # --- what the channel layer brings ---------------------------------------------------------

    async def live_batch(self, event):
        handlers = {events.UPDATE: self.job_update, events.LOG: self.job_log, notifications.EVENT: self.bot_event,
                    notifications.BUDGET_ALERT: self.budget_alert}
        for message in event["messages"]:
            handler = handlers.get(message.get("type"))
            if handler:
                await handler(message)

    async def bot_event(self, event):
        if notifications.EVENT in self.bot_streams:
            await self.send_json({**_without_type(event), "type": "bot_event"})

    async def budget_alert(self, event):
        if notifications.BUDGET_ALERT in self.bot_streams:
            await self.send_json({**_without_type(event), "type": "budget_alert"})

    async def job_update(self, event):
        if self.wants(event):
            await self.send_json({"type": "job_update", "job_id": event["job_id"], "data": event["data"],
                                  **({"created": True} if event.get("created") else {})})

    async def job_log(self, event):
        if self.wants(event):
            await self.send_json({
                "type": "log", "job_id": event["job_id"], "level": event["level"], "message": event["message"],
                "operadora": event.get("operadora"), "timestamp": event.get("timestamp"), "id": event.get("id"),
            })

    async def user_notification(self, event):
        notification = event["notification"]
        if notification.get("type") in BOT_NOTIFICATION_TYPES:
            await self.send_json(notification)

    def wants(self, event) -> bool:
        if self.all_jobs:
            return selectors.job_visible(user=self.user, owner_id=event.get("owner_id"))
        return event["job_id"] in self.job_ids


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True


def _without_type(event: dict) -> dict:
    return {key: value for key, value in event.items() if key != "type"}


@database_sync_to_async
def _may_read_conversations(user) -> bool:
    user = get_user_model().objects.filter(pk=user.pk).first()  # fresh: has_perm caches what it read
    return user is not None and user.is_active and (
        user.is_staff or user.has_perm("sellerbot.view_conversation") or user.has_perm("sellerbot.change_conversation"))


@database_sync_to_async
def _bot_stream_types(user) -> frozenset[str]:
    """The bots stream's messages `user` may receive (read again at each subscription, so a
    permission taken away holds from the next one)."""
    user = get_user_model().objects.filter(pk=user.pk).first()  # fresh: has_perm caches what it read
    if user is None or not user.is_active or not user.is_staff:
        return frozenset()
    allowed = set()
    if user.has_perm(BOT_EVENT_PERMISSION):
        allowed.add(notifications.EVENT)
    if user.has_perm(USAGE_PERMISSION):
        allowed.add(notifications.BUDGET_ALERT)
    return frozenset(allowed)


@database_sync_to_async
def _job_state(user, job_id: str) -> dict | None:
    job = selectors.job_list(user=user).filter(pk=job_id).values("status", "progress", "kind").first()
    if job is None:
        return None
    return {"status": job["status"], "progress": job["progress"], "operadora": job["kind"]}
