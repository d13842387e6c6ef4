from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import JsonResponse


class BodySizeLimitMiddleware:
    """Refuse a request whose declared body is over API_MAX_BODY_BYTES with 413, unread.

    Bodies sent without a Content-Length are still capped by DATA_UPLOAD_MAX_MEMORY_SIZE when
    the view reads them; the API's exception handler turns that into the same 413.

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
        # The admin and the sandbox portals (demo uploads of invoices) take files.
        if length > settings.API_MAX_BODY_BYTES and not request.path.startswith(("/admin/", "/sandbox/")):
            return JsonResponse({"detail": body_too_large_message()}, status=413)
        return None


def body_too_large_message() -> str:
    return (
        f"Corpo da requisição muito grande: o limite é {settings.API_MAX_BODY_BYTES} bytes."
    )
