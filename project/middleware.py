"""Request bodies: one size limit, whether the client declares the length or sends it chunked;
and 503, not 500, when the database or Redis is unreachable."""

import json
import logging

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.deprecation import MiddlewareMixin
from redis.exceptions import RedisError

from project.errors import wants_json

logger = logging.getLogger(__name__)

# The admin and the sandbox portals (demo uploads of invoices) take files.
UNLIMITED_PATH_PREFIXES = ("/admin/", "/sandbox/")


class AsgiRequestBody:
    """ASGI wrapper: read the body as it arrives, refuse it with 413 once it passes
    API_MAX_BODY_BYTES, and give the application an honest Content-Length.

    Django's ASGI handler buffers the whole body, but its request (and DRF's parsers, and the
    multipart parser) takes the body's size from the Content-Length header: a body sent with
    `Transfer-Encoding: chunked` has none, so it was read as empty, and the size limit that
    checks the header never saw it. Here a chunked body is read message by message, counted
    as it comes, and handed on with the length of what arrived.
    """

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        limit = body_limit(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and not _header(scope, b"transfer-encoding"):
            # The server reads exactly the declared length: checking the header is enough.
            if limit is not None and declared.isdigit() and int(declared) > limit:
                return await _send_json(send, 413, {"detail": body_too_large_message(limit)})
            return await self.application(scope, receive, send)

        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if limit is not None and size > limit:
                return await _send_json(send, 413, {"detail": body_too_large_message(limit)})
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        headers = [(name, value) for name, value in scope["headers"]
                   if name not in (b"content-length", b"transfer-encoding")]
        headers.append((b"content-length", str(size).encode()))
        body_message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        delivered = False

        async def receive_buffered():
            nonlocal delivered
            if delivered:
                return await receive()  # the disconnect Django waits for while it answers
            delivered = True
            return body_message

        return await self.application({**scope, "headers": headers}, receive_buffered, send)


class BodySizeLimitMiddleware:
    """Refuse a request whose declared body is over API_MAX_BODY_BYTES with 413, unread.

    Under the ASGI server, AsgiRequestBody has already done this (and given chunked bodies
    their Content-Length); this covers the WSGI entry point and in-process test clients.

    Both sync- and async-capable: under daphne, one sync-only middleware in the stack makes
    Django switch between the event loop and its shared sync thread around every layer.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        return self._refusal(request) or self.get_response(request)

    async def _acall(self, request):
        return self._refusal(request) or await self.get_response(request)

    def _refusal(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse({"detail": "Cabeçalho Content-Length inválido."}, status=400)
        limit = body_limit(request.path)
        if limit is not None and length > limit:
            return JsonResponse({"detail": body_too_large_message(limit)}, status=413)
        return None


def body_limit(path: str) -> int | None:
    """The largest body `path` takes, in bytes; None where files are uploaded (no limit here)."""
    if path.startswith(UNLIMITED_PATH_PREFIXES):
        return None
    if path in settings.BATCH_PATHS:
        return settings.BATCH_MAX_BODY_BYTES
    return settings.API_MAX_BODY_BYTES


def body_too_large_message(limit: int | None = None) -> str:
    return f"Corpo da requisição muito grande: o limite é {limit or settings.API_MAX_BODY_BYTES} bytes."


def _header(scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1").strip()
    return None


async def _send_json(send, status: int, body: dict) -> None:
    content = json.dumps(body, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(content)).encode()),
    ]})
    await send({"type": "http.response.body", "body": content})


class ServiceUnavailableMiddleware(MiddlewareMixin):
    """Answer 503 with Retry-After, not a 500, when the database or Redis is unreachable.

    While PostgreSQL restarts or Redis stalls, any view can meet the outage; the client gets a
    sentence saying which part is down and that trying again shortly will work: `{"detail": …}`
    for programs, the console's 503 page for people (as project.errors tells them apart).
    With only process_exception, Django's mixin passes sync and async requests straight through.
    """

    def process_exception(self, request, exception):
        part = _unavailable_part(exception)
        if part is None:
            return None
        logger.warning("%s %s: %s unreachable (%s)", request.method, request.path, part, exception)
        message = (
            f"Serviço temporariamente indisponível: {part} fora do ar. "
            f"Nada foi alterado; tente novamente em {RETRY_AFTER_SECONDS} segundos."
        )
        if wants_json(request):
            response = JsonResponse({"detail": message}, status=503, json_dumps_params={"ensure_ascii": False})
        else:
            # Rendered without the request: the session and the user may be what is unreachable.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response


RETRY_AFTER_SECONDS = 5


def _unavailable_part(exception: BaseException) -> str | None:
    if isinstance(exception, OperationalError | InterfaceError):
        return "banco de dados"
    if isinstance(exception, RedisError):
        return "Redis (fila de execução)"
    return None
