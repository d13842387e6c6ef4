"""What a client sees when a request fails outside a view's own error handling.

With DEBUG off Django answers unknown routes, refused requests and unhandled exceptions with
these handlers (project/urls.py). JSON clients — the REST API, the seed-compatible routes,
anything that asks for JSON — get `{"detail": "<frase>"}`, as every other error of theirs; people
get a page in the console's own layout. Nothing technical (traceback, settings, the list of
routes) ever reaches a client.
"""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

logger = logging.getLogger(__name__)

# Paths whose clients are programs: the REST API and the seed-compatible surface (seed 003).
JSON_PATH_PREFIXES = (
    "/api/", "/auth/", "/executar/", "/status/", "/jobs", "/health", "/events/", "/openapi.json",
    "/metrics", "/bot/", "/seller-bot/",
)
MESSAGES = {
    400: "Requisição inválida.",
    403: "Acesso negado.",
    404: "Não encontrado.",
    500: "Erro interno do servidor. A falha foi registrada; tente novamente em instantes.",
}
# As DRF renders the API's own errors: accents as they are, not \u escapes.
UTF8 = {"ensure_ascii": False}
# The last resort when even the 500 template cannot be rendered (a broken template, a missing
# file): plain HTML that depends on nothing.
BARE_500_PAGE = (
    '<!doctype html><html lang="pt-br"><head><meta charset="utf-8"><title>Erro interno · Console de '
    "Operações</title></head><body><h1>Erro interno do servidor</h1><p>A falha foi registrada. Tente "
    "novamente em instantes.</p></body></html>"
)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return _answer(request, 400, "400.html")


def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return _answer(request, 403, "403.html")


def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return _answer(request, 404, "404.html")


def server_error(request: HttpRequest) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": MESSAGES[500]}, status=500, json_dumps_params=UTF8)
    # Rendered with no context and no request: the database or the session may be what failed.
    try:
        page = loader.get_template("500.html").render()
    except Exception:
        logger.exception("the 500 page could not be rendered")
        page = BARE_500_PAGE
    return HttpResponse(page, status=500)


def wants_json(request: HttpRequest) -> bool:
    """A program, not a person: an API path, or an Accept header that asks for JSON, not HTML."""
    if request.path.startswith(JSON_PATH_PREFIXES):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return "json" in accept and "text/html" not in accept


def _answer(request: HttpRequest, status: int, template: str) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"detail": MESSAGES[status]}, status=status, json_dumps_params=UTF8)
    return HttpResponse(loader.render_to_string(template, request=request), status=status)
