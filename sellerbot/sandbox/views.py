"""Sandbox of TikTok Seller Center: login with a verification code, then the shop's inboxes.

/sandbox/tiktok/entrar                      e-mail + senha (→ verificacao unless the device is trusted)
/sandbox/tiktok/verificacao                 the 6-digit code; a right one trusts the device for 30 days
/sandbox/tiktok/comentarios?pagina=N        product comments, 20 a page, unanswered first
/sandbox/tiktok/comentarios/<id>/responder  POST texto → back to the comments with a notice
/sandbox/tiktok/mensagens?pagina=N          customer conversations, the same pattern
/sandbox/tiktok/mensagens/<id>/responder    POST texto
/sandbox/tiktok/pedidos                     the orders table
/sandbox/tiktok/estoque                     the SKU table; POST estoque/<sku>/salvar with quantidade
/sandbox/tiktok/sair

The accounts, their data and their error paths are described in sellerbot/sandbox/store.py.
The data lives in Redis, so a reply sent by a bot in an rq worker is on the page at once.
"""

from functools import wraps
from urllib.parse import urlencode

from django.core import signing
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from carriers.sandbox import common
from sellerbot.sandbox import store

PORTAL = "TIKTOK"
PORTAL_COOKIE = "sandbox_tiktok"  # the session cookie carriers.sandbox.common names after PORTAL
PAGE_SIZE = 20
REPLY_MAX_CHARS = 1000
QUANTITY_MAX = 100_000

PENDING_COOKIE = "sandbox_tiktok_pendente"  # a correct password waiting for its code
PENDING_MAX_AGE = 600
DEVICE_COOKIE = "sandbox_tiktok_dispositivo"  # the trusted device: no code asked again
DEVICE_MAX_AGE = 30 * 24 * 3600
NOTICE_COOKIE = "sandbox_tiktok_aviso"  # a one-shot notice shown by the next page

NOTICES = {
    "sessao-expirada": ("erro", "Sua sessão expirou. Entre novamente."),
    "resposta-publicada": ("ok", "Resposta publicada."),
    "mensagem-enviada": ("ok", "Mensagem enviada."),
    "comentario-ja-respondido": ("erro", "Este comentário já foi respondido."),
    "conversa-ja-respondida": ("erro", "Esta conversa já foi respondida."),
    "item-inexistente": ("erro", "Item não encontrado: ele pode ter sido removido."),
    "texto-vazio": ("erro", "Escreva uma resposta antes de enviar."),
    "texto-longo": ("erro", f"A resposta pode ter no máximo {REPLY_MAX_CHARS} caracteres."),
    "estoque-salvo": ("ok", "Estoque atualizado."),
    "quantidade-invalida": ("erro", f"Informe uma quantidade inteira entre 0 e {QUANTITY_MAX:,}.".replace(",", ".")),
    "sku-inexistente": ("erro", "SKU não encontrado nesta loja."),
}


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    if request.method == "GET":
        return _page(request, "sandbox/tiktok/entrar.html", {"next": next_url})
    login_value = request.POST.get("login", "").strip().lower()
    account = store.ACCOUNTS.get(login_value)
    context = {"next": next_url, "login": login_value}
    if account is None:
        return _page(request, "sandbox/tiktok/entrar.html",
                     {**context, "erro": "Conta não encontrada no TikTok Seller Center."})
    if request.POST.get("senha", "") != account.password:
        return _page(request, "sandbox/tiktok/entrar.html",
                     {**context, "erro": "Senha incorreta. Verifique e tente novamente."})
    if _trusted_device(request) == account.login:
        return _signed_in_redirect(account, next_url)
    response = HttpResponseRedirect(_with_next(reverse("tiktok_sandbox:verification"), next_url))
    response.set_signed_cookie(PENDING_COOKIE, account.login, salt=PENDING_COOKIE, max_age=PENDING_MAX_AGE,
                               httponly=True, samesite="Lax")
    return response


@csrf_exempt
@require_http_methods(["GET", "POST"])
def verification(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    account = store.ACCOUNTS.get(_signed(request, PENDING_COOKIE, PENDING_MAX_AGE) or "")
    if account is None:
        return HttpResponseRedirect(reverse("tiktok_sandbox:login"))
    context = {"next": next_url, "login": account.login}
    if request.method == "GET":
        return _page(request, "sandbox/tiktok/verificacao.html", context)
    if request.POST.get("codigo", "").strip() != store.VERIFICATION_CODE:
        return _page(request, "sandbox/tiktok/verificacao.html", {**context, "erro": "Código de verificação inválido."})
    response = _signed_in_redirect(account, next_url)
    response.delete_cookie(PENDING_COOKIE)
    response.set_signed_cookie(DEVICE_COOKIE, account.login, salt=DEVICE_COOKIE, max_age=DEVICE_MAX_AGE,
                               httponly=True, samesite="Lax")
    return response


def logout(request: HttpRequest) -> HttpResponse:
    return common.session_end(HttpResponseRedirect(reverse("tiktok_sandbox:login")), PORTAL)


def signed_in(view):
    """Hand the view the signed-in account, or send the browser to the login page.

    A session cookie that is there but no longer valid (and every session of the expiring
    account) comes back to the login page with "Sua sessão expirou".
    """
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        login_value = common.session_login(request, PORTAL)
        account = store.ACCOUNTS.get(login_value or "")
        if account is not None and account.login != store.EXPIRED_LOGIN:
            return view(request, account, *args, **kwargs)
        target = request.get_full_path() if request.method == "GET" else ""
        response = HttpResponseRedirect(_with_next(reverse("tiktok_sandbox:login"), target))
        if account is not None:
            # The expiring account's session stays "expired" on the portal's side: every page says so.
            return _notice(response, "sessao-expirada")
        if PORTAL_COOKIE in request.COOKIES:
            response = _notice(common.session_end(response, PORTAL), "sessao-expirada")
        return response

    return wrapper


@signed_in
def comments(request: HttpRequest, account: store.Account) -> HttpResponse:
    redesigned = account.login == store.LAYOUT_LOGIN
    template = "sandbox/tiktok/comentarios_v2.html" if redesigned else "sandbox/tiktok/comentarios.html"
    return _inbox_page(request, account, store.comments(account.login), template, section="comentarios")


@signed_in
def messages(request: HttpRequest, account: store.Account) -> HttpResponse:
    redesigned = account.login == store.LAYOUT_LOGIN
    template = "sandbox/tiktok/mensagens_v2.html" if redesigned else "sandbox/tiktok/mensagens.html"
    return _inbox_page(request, account, store.messages(account.login), template, section="mensagens")


@csrf_exempt
@require_POST
@signed_in
def comment_reply(request: HttpRequest, account: store.Account, comment_id: str) -> HttpResponse:
    return _reply(request, account, comment_id, store.comment_reply, "tiktok_sandbox:comments",
                  done="resposta-publicada", answered="comentario-ja-respondido")


@csrf_exempt
@require_POST
@signed_in
def message_reply(request: HttpRequest, account: store.Account, conversation_id: str) -> HttpResponse:
    return _reply(request, account, conversation_id, store.message_reply, "tiktok_sandbox:messages",
                  done="mensagem-enviada", answered="conversa-ja-respondida")


@signed_in
def orders(request: HttpRequest, account: store.Account) -> HttpResponse:
    rows = [{**order, "date": parse_datetime(order["date"]), "total_label": _money(order["total"])}
            for order in store.orders(account.login)]
    return _page(request, "sandbox/tiktok/pedidos.html", {"account": account, "orders": rows, "section": "pedidos"})


@signed_in
def stock(request: HttpRequest, account: store.Account) -> HttpResponse:
    return _page(request, "sandbox/tiktok/estoque.html",
                 {"account": account, "items": store.stock(account.login), "section": "estoque",
                  "quantity_max": QUANTITY_MAX})


@csrf_exempt
@require_POST
@signed_in
def stock_save(request: HttpRequest, account: store.Account, sku: str) -> HttpResponse:
    back = HttpResponseRedirect(reverse("tiktok_sandbox:stock"))
    raw = request.POST.get("quantidade", "").strip()
    if not raw.isdigit() or int(raw) > QUANTITY_MAX:
        return _notice(back, "quantidade-invalida")
    if not store.stock_set(account.login, sku, int(raw)):
        return _notice(back, "sku-inexistente")
    return _notice(back, "estoque-salvo")


def _inbox_page(request: HttpRequest, account: store.Account, items: list[dict], template: str, *,
                section: str) -> HttpResponse:
    paginator = Paginator(items, PAGE_SIZE)
    page = paginator.get_page(request.GET.get("pagina"))
    rows = [{**item, "created": parse_datetime(item["created_at"])} for item in page.object_list]
    context = {
        "account": account,
        "page": page,
        "items": rows,
        "pending": sum(1 for item in items if item["reply"] is None),
        "total": len(items),
        "loading": account.login == store.SLOW_LOGIN,
        "section": section,
        "reply_max": REPLY_MAX_CHARS,
    }
    return _page(request, template, context)


def _reply(request: HttpRequest, account: store.Account, item_id: str, publish, back_to: str, *,
           done: str, answered: str) -> HttpResponse:
    back = HttpResponseRedirect(reverse(back_to))
    text = request.POST.get("texto", "").strip()
    if not text:
        return _notice(back, "texto-vazio")
    if len(text) > REPLY_MAX_CHARS:
        return _notice(back, "texto-longo")
    result = publish(account.login, item_id, text)
    if result == store.ALREADY_ANSWERED:
        return _notice(back, answered)
    if result == store.UNKNOWN:
        return _notice(back, "item-inexistente")
    return _notice(back, done)


def _page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """Render `template` with the pending notice (if any), which is then gone."""
    notice = NOTICES.get(request.COOKIES.get(NOTICE_COOKIE, ""))
    if notice:
        context = {**context, "notice_kind": notice[0], "notice": notice[1]}
    response = render(request, template, context)
    if NOTICE_COOKIE in request.COOKIES:
        response.delete_cookie(NOTICE_COOKIE)
    return response


def _notice(response: HttpResponse, code: str) -> HttpResponse:
    response.set_cookie(NOTICE_COOKIE, code, max_age=60, httponly=True, samesite="Lax")
    return response


def _signed_in_redirect(account: store.Account, next_url: str) -> HttpResponse:
    response = HttpResponseRedirect(next_url or reverse("tiktok_sandbox:comments"))
    return common.session_start(response, PORTAL, account.login)


def _trusted_device(request: HttpRequest) -> str | None:
    return _signed(request, DEVICE_COOKIE, DEVICE_MAX_AGE)


def _signed(request: HttpRequest, cookie: str, max_age: int) -> str | None:
    try:
        return request.get_signed_cookie(cookie, salt=cookie, max_age=max_age)
    except (KeyError, signing.BadSignature):
        return None


def _safe_next(request: HttpRequest, next_url: str) -> str:
    """Only a page of this sandbox, on this host: never an open redirect."""
    home = reverse("tiktok_sandbox:login").rsplit("/", 1)[0] + "/"
    allowed = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
    return next_url if next_url and allowed and next_url.startswith(home) else ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _money(total: str) -> str:
    reais, cents = total.split(".")
    return f"R$ {int(reais):,}".replace(",", ".") + f",{cents}"
