"""The Seller Bot's tasks on TikTok Seller Center, each `fn(ctx: JobContext) -> Outcome`.

    verify          log in and open the comments page       → {"login_status": "ok"}
    reply_comments  answer unanswered product comments      → {"replies_sent": n, "replies": [...]}
    reply_messages  answer customer conversations           → {"replies_sent": n, "replies": [...]}
    sync_orders     read the orders table                   → {"orders_synced": n, "orders": [...]}
    update_stock    set the quantity of each given SKU      → {"items_updated": n, "unknown_skus": [...]}

ctx.secrets holds "login" and "senha", and optionally "cookies" (the browser's cookies after an
earlier run, Outcome.cookies) and "codigo" (the verification code the portal asks for on a new
device). With cookies the portal is opened signed in, and login and code are skipped while the
portal still honours them. ctx.params["config"] holds the task's options, read with defaults.

Every task opens and always closes its own browser, turns failures into the seed's categories
(auth, verification, session, navigation, timeout) with a sentence that names the portal and
never a secret, and keeps a screenshot and the page source of a failure with the job. Cookies are
returned to the caller, never logged.
"""

import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urljoin

from django.conf import settings
from selenium.common.exceptions import InvalidCookieDomainException, UnableToSetCookieException

from carriers.browser import Browser, browser_session
from carriers.invoices import PAGE_NOT_LOADED, browser_announce, categorised, failures_explained
from jobs.automation import AutomationError, JobContext
from sellerbot.tiktok.pages import (
    CommentsPage,
    InboxItem,
    InboxPage,
    LoginPage,
    MessagesPage,
    OrdersPage,
    SellerPage,
    SellerRequest,
    SessionExpired,
    StockPage,
    VerificationRequired,
)

# The keys of a Selenium cookie that add_cookie takes back on another browser (no domain: the
# cookie goes to the portal's origin, which is open when they are added).
COOKIE_KEYS = ("name", "value", "path", "secure", "httpOnly", "expiry")
REPLY_MAX_CHARS = 1000
P = TypeVar("P", bound=SellerPage)

DEFAULT_MAX_REPLIES, MAX_REPLIES = 50, 500
DEFAULT_DELAY_SECONDS, MAX_DELAY_SECONDS = 5, 300
DEFAULT_MAX_ORDERS, MAX_ORDERS = 200, 10_000
MAX_QUANTITY = 100_000

# {nome} is the customer's first name, {produto} the product the comment is about.
COMMENT_TEMPLATES = (
    "Oi, {nome}! Obrigado pela pergunta sobre o produto {produto}. Mandamos todos os detalhes no seu chat, "
    "confere lá!",
    "Olá, {nome}! Que bom que você se interessou pelo produto {produto}. Qualquer dúvida, chama a gente no "
    "chat da loja.",
    "{nome}, obrigado pelo comentário! Sobre o produto {produto}: a descrição traz medidas e especificações, "
    "e o nosso chat está aberto para ajudar no que precisar.",
    "Oi, {nome}! O produto {produto} tem envio rápido para todo o Brasil. Se precisar de ajuda para escolher, "
    "fale com a gente no chat.",
)
# A conversation is not always about a product: these read well without one.
MESSAGE_TEMPLATES = (
    "Oi, {nome}! Obrigado pela mensagem. Já estamos verificando e respondemos com todos os detalhes em breve.",
    "Olá, {nome}! Recebemos a sua mensagem e a nossa equipe de atendimento já está cuidando disso. "
    "Obrigado pela paciência!",
    "Oi, {nome}, tudo bem? Agradecemos o contato! Em instantes retornamos com a solução, combinado?",
)


@dataclass
class Outcome:
    summary: dict  # JSON-serialisable, shown to the user: never a secret
    cookies: list[dict] | None  # the browser's cookies after a successful login, for the next run


def verify(ctx: JobContext) -> Outcome:
    """Log in (reusing the profile's cookies when they still work) and open the comments page."""
    return _run(ctx, _verify)


def reply_comments(ctx: JobContext) -> Outcome:
    """Answer unanswered product comments, up to config max_replies, delay_seconds apart."""
    return _run(ctx, _reply_comments)


def reply_messages(ctx: JobContext) -> Outcome:
    """Answer customer conversations waiting for the shop, up to config max_replies."""
    return _run(ctx, _reply_messages)


def sync_orders(ctx: JobContext) -> Outcome:
    """Read the orders table, up to config max_orders rows, newest first."""
    return _run(ctx, _sync_orders)


def update_stock(ctx: JobContext) -> Outcome:
    """Set the quantity of each SKU in config items; SKUs the shop does not have are reported back."""
    return _run(ctx, _update_stock)


Task = Callable[[Browser, SellerRequest, JobContext], dict]


def _run(ctx: JobContext, task: Task) -> Outcome:
    """Run `task` in a fresh browser, mirroring carriers.invoices.invoice_download's failure handling."""
    request = seller_request(ctx)
    with browser_session() as browser:
        browser_announce(ctx, browser)
        with failures_explained(ctx, browser, lambda exc: categorised(exc, request, waited_for=PAGE_NOT_LOADED)):
            summary = task(browser, request, ctx)
            cookies = browser.driver.get_cookies()
    ctx.progress(90, f"Tarefa concluída no {request.carrier}")
    return Outcome(summary=summary, cookies=cookies)


def seller_request(ctx: JobContext) -> SellerRequest:
    return SellerRequest(
        portal_url=settings.TIKTOK_SELLER_URL,
        login=ctx.secrets.get("login", ""),
        senha=ctx.secrets.get("senha", ""),
        codigo=str(ctx.secrets.get("codigo") or "").strip(),
        region=ctx.params.get("region") or "BR",
    )


def signed_in(browser: Browser, request: SellerRequest, ctx: JobContext, target: type[P]) -> P:
    """`target` opened in a signed-in browser: through the profile's cookies, or a fresh login.

    A session that the portal ends right after a fresh login fails (SessionExpired) instead of
    logging in again: a loop of logins is what gets a shop's account locked.
    """
    page = target(browser, request)
    cookies = ctx.secrets.get("cookies") or []
    if cookies:
        ctx.progress(10, f"Abrindo o {request.carrier} com a sessão guardada do perfil")
        _cookies_load(browser, request, cookies)
        try:
            page.open()
        except SessionExpired:
            ctx.log("INFO", f"A sessão guardada não vale mais no {request.carrier}; entrando de novo")
        else:
            ctx.progress(30, "Sessão guardada reaproveitada: login dispensado")
            return page
    ctx.progress(15, f"Entrando no {request.carrier}")
    verification = LoginPage(browser, request).open().sign_in(request.login, request.senha)
    if verification is not None:
        if not request.codigo:
            raise VerificationRequired(
                f"O {request.carrier} pediu um código de verificação para esta conta: "
                "verifique o perfil informando o código."
            )
        ctx.log("INFO", "Código de verificação pedido pelo portal; confirmando com o código do perfil")
        verification.confirm(request.codigo)
    page.open()
    ctx.progress(30, f"Login realizado no {request.carrier}")
    return page


def _verify(browser: Browser, request: SellerRequest, ctx: JobContext) -> dict:
    signed_in(browser, request, ctx, CommentsPage)
    ctx.log("INFO", f"Login verificado: a página de comentários do {request.carrier} abriu")
    return {"login_status": "ok"}


def _reply_comments(browser: Browser, request: SellerRequest, ctx: JobContext) -> dict:
    return _reply_inbox(browser, request, ctx, CommentsPage, COMMENT_TEMPLATES, _comment_line, "respondido")


def _reply_messages(browser: Browser, request: SellerRequest, ctx: JobContext) -> dict:
    return _reply_inbox(browser, request, ctx, MessagesPage, MESSAGE_TEMPLATES, _message_line, "respondida")


def _reply_inbox(browser: Browser, request: SellerRequest, ctx: JobContext, target: type[InboxPage],
                 default_templates: tuple[str, ...], line: Callable[[InboxItem], str], answered: str) -> dict:
    config = _config(ctx)
    max_replies = _integer(config.get("max_replies"), DEFAULT_MAX_REPLIES, 1, MAX_REPLIES)
    delay = _number(config.get("delay_seconds"), DEFAULT_DELAY_SECONDS, 0, MAX_DELAY_SECONDS)
    templates = _templates(config.get("templates")) or default_templates

    page = signed_in(browser, request, ctx, target)
    planned = min(max_replies, page.pending_count())
    ctx.progress(35, f"{planned} {'item' if planned == 1 else 'itens'} sem resposta para responder agora")
    replies: list[dict] = []
    skip: set[str] = set()
    while len(replies) < max_replies:
        item = page.next_pending(skip)
        if item is None:
            break
        if replies and delay:
            time.sleep(delay)  # a pace like a person's, between one reply and the next
        text = reply_text(templates, item)
        refusal = page.reply(item, text)
        skip.add(item.id)
        if refusal is not None:
            if not page.still_pending(item.id):
                ctx.log("WARNING", f"{line(item)} já tinha resposta no portal; nada foi enviado de novo")
                continue
            raise AutomationError(f"O {request.carrier} recusou a resposta ({refusal}).", category="navigation")
        replies.append({"id": item.id, "author": item.author, "product": item.product, "text": text})
        ctx.log("INFO", f"{line(item)} {answered}")
        done = len(replies)
        ctx.progress(min(85, 35 + 50 * done // max(planned, 1)),
                     f"{done} {'resposta enviada' if done == 1 else 'respostas enviadas'}")
    ctx.progress(85, f"{len(replies)} de {planned} respostas enviadas no {request.carrier}")
    return {"replies_sent": len(replies), "replies": replies}


def reply_text(templates: tuple[str, ...] | list[str], item: InboxItem) -> str:
    """The reply to `item`: a template picked by the item's id (the same item, the same template),
    its placeholders filled, cut to what the portal accepts."""
    template = templates[zlib.crc32(item.id.encode()) % len(templates)]
    first_name = item.author.split()[0] if item.author.strip() else "cliente"
    text = template.replace("{nome}", first_name).replace("{produto}", item.product)
    return text.strip()[:REPLY_MAX_CHARS]


def _comment_line(item: InboxItem) -> str:
    return f"Comentário de {item.author} sobre {item.product}"


def _message_line(item: InboxItem) -> str:
    about = f" sobre {item.product}" if item.product else ""
    return f"Conversa com {item.author}{about}"


def _sync_orders(browser: Browser, request: SellerRequest, ctx: JobContext) -> dict:
    limit = _integer(_config(ctx).get("max_orders"), DEFAULT_MAX_ORDERS, 1, MAX_ORDERS)
    page = signed_in(browser, request, ctx, OrdersPage)
    ctx.progress(50, "Lendo a tabela de pedidos")
    orders = page.orders(limit)
    ctx.log("INFO", f"{len(orders)} pedidos lidos no {request.carrier}")
    ctx.progress(85, f"{len(orders)} pedidos sincronizados")
    return {"orders_synced": len(orders), "orders": orders}


def _update_stock(browser: Browser, request: SellerRequest, ctx: JobContext) -> dict:
    items = _stock_items(_config(ctx).get("items"), ctx)
    page = signed_in(browser, request, ctx, StockPage)
    known = page.skus()
    updated, unknown = 0, []
    ctx.progress(35, f"{len(items)} {'SKU para atualizar' if len(items) == 1 else 'SKUs para atualizar'}")
    for index, (sku, quantity) in enumerate(items, start=1):
        if sku not in known:
            unknown.append(sku)
            ctx.log("WARNING", f"O SKU {sku} não existe nesta loja do {request.carrier}")
            continue
        refusal = page.set_quantity(sku, quantity)
        if refusal is not None:
            raise AutomationError(
                f"O {request.carrier} recusou a quantidade {quantity} do SKU {sku} ({refusal}).",
                category="navigation", permanent=True,
            )
        updated += 1
        ctx.log("INFO", f"Estoque do SKU {sku} atualizado para {quantity}")
        ctx.progress(35 + 50 * index // len(items), f"{updated} de {len(items)} SKUs atualizados")
    ctx.progress(85, f"{updated} SKUs atualizados no {request.carrier}")
    return {"items_updated": updated, "unknown_skus": unknown}


def _stock_items(raw, ctx: JobContext) -> list[tuple[str, int]]:
    """The (sku, quantity) pairs of config items; an entry that is not one is left out, with a log line."""
    items = []
    for entry in raw if isinstance(raw, list) else []:
        sku = str(entry.get("sku", "")).strip() if isinstance(entry, dict) else ""
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if not sku or isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
            ctx.log("WARNING", f"Item de estoque ignorado por não ter SKU e quantidade válidos: {sku or '(sem SKU)'}")
            continue
        items.append((sku, quantity))
    return items


def _cookies_load(browser: Browser, request: SellerRequest, cookies: list[dict]) -> None:
    """Put the profile's cookies back in the browser, on the portal's origin (opened first)."""
    browser.driver.get(urljoin(request.portal_url, "/"))
    now = time.time()
    for cookie in cookies:
        if not isinstance(cookie, dict):
            continue
        kept = {key: cookie[key] for key in COOKIE_KEYS if key in cookie}
        if "name" not in kept or "value" not in kept or kept.get("expiry", now + 1) <= now:
            continue
        try:
            browser.driver.add_cookie(kept)
        except (InvalidCookieDomainException, UnableToSetCookieException):
            continue  # a cookie of another site, or one the browser refuses: the login will tell




def _config(ctx: JobContext) -> dict:
    config = ctx.params.get("config")
    return config if isinstance(config, dict) else {}


def _integer(value, default: int, low: int, high: int) -> int:
    if isinstance(value, bool):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high)


def _number(value, default: float, low: float, high: float) -> float:
    if isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return min(max(number, low), high) if number == number else default  # NaN → default


def _templates(value) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(t for t in value if isinstance(t, str) and t.strip())
