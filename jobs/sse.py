"""/events/logs (seed 003 §4.3.1): every job's log lines as Server-Sent Events.

The stream opens with a `connection` message, then carries a `log` message per job log line the
user may see and a `system_status` message (jobs_pending, jobs_active, jobs_done) every
SSE_STATUS_SECONDS, with a heartbeat comment every SSE_HEARTBEAT_SECONDS so that proxies keep it
open. It is an async view: a client that reads slowly holds no thread, and a client that goes
away is dropped from the channel layer group as Django cancels the stream.

Who may listen: a JWT (?token= or the Authorization header), a ticket (?ticket=) or the staff
session; the seed's anonymous stream only with EVENTS_LOGS_ANONYMOUS=1 (then without the jobs'
owners filter: every log line, as the seed had it).
"""

import asyncio
import json
import time

from channels.layers import get_channel_layer
from django.conf import settings
from django.http import JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from accounts.websocket_auth import query_credentials, user_for_credentials
from jobs import events, selectors
from project import live
from project.clock import now_iso


@csrf_exempt  # it changes nothing: other methods get a plain 405, not a CSRF page
@require_GET
async def events_logs(request):
    user = await _listener(request)
    if user is None and not settings.EVENTS_LOGS_ANONYMOUS:
        return JsonResponse(
            {"detail": "Autenticação necessária: envie ?token=<JWT>, ?ticket=<ticket> ou entre no painel."},
            status=401,
        )
    response = StreamingHttpResponse(log_stream(user), content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on as it comes
    return response


async def log_stream(user):
    """The events of one client, until it goes away (Django then cancels this generator)."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(events.ALL_JOBS_GROUP, channel)
    receiving = asyncio.ensure_future(layer.receive(channel))
    try:
        yield _event({"type": "connection", "message": "Conectado ao sistema de logs RPA em tempo real",
                      "timestamp": now_iso()})
        yield _event(await _system_status())
        next_status = time.monotonic() + settings.SSE_STATUS_SECONDS
        next_heartbeat = time.monotonic() + settings.SSE_HEARTBEAT_SECONDS
        while True:
            wait = max(0.0, min(next_status, next_heartbeat) - time.monotonic())
            done, _ = await asyncio.wait({receiving}, timeout=wait)
            if done:
                for message in _log_messages(receiving.result(), user):
                    yield _event(message)
                receiving = asyncio.ensure_future(layer.receive(channel))
            now = time.monotonic()
            if now >= next_status:
                yield _event(await _system_status())
                next_status = now + settings.SSE_STATUS_SECONDS
            if now >= next_heartbeat:
                yield ": heartbeat\n\n"
                next_heartbeat = now + settings.SSE_HEARTBEAT_SECONDS
    finally:
        receiving.cancel()
        await layer.group_discard(events.ALL_JOBS_GROUP, channel)


def _log_messages(event: dict, user) -> list[dict]:
    messages = event["messages"] if event.get("type") == live.BATCH_TYPE else [event]
    return [
        {"type": "log", "level": m["level"], "message": m["message"], "operadora": m.get("operadora"),
         "job_id": m["job_id"], "timestamp": m.get("timestamp")}
        for m in messages
        if m.get("type") == events.LOG and _may_see(user, m)
    ]


def _may_see(user, message: dict) -> bool:
    return user is None or selectors.job_visible(user=user, owner_id=message.get("owner_id"))


async def _system_status() -> dict:
    counts = await selectors.job_status_counts()
    return {"type": "system_status", **counts, "timestamp": now_iso()}


def _event(message: dict) -> str:
    return f"data: {json.dumps(message, ensure_ascii=False)}\n\n"




async def _listener(request):
    """The user this stream is for, or None."""
    credentials = query_credentials(request.META.get("QUERY_STRING", ""))
    header = request.headers.get("Authorization", "")
    if not credentials and header.lower().startswith("bearer "):
        credentials = {"token": header[7:].strip()}
    if credentials:
        user = await user_for_credentials(**credentials)
    else:
        user = await request.auser()
    return user if user.is_authenticated else None
