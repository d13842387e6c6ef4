"""What every carrier automation shares: one invoice download, from login to stored PDF.

A carrier module supplies only the portal part, `fetch(browser, request, ctx) -> Download`:
log in, find the invoice of `filtro`/`cnpj`, click download, wait for the file. This module
opens and always closes the browser, turns whatever went wrong into one of the seed's error
categories (authentication at the carrier, navigation, timeout, file processing) with a plain
Portuguese sentence, keeps a screenshot and the page source of a failure as job artifacts,
refuses anything that is not a real PDF, and stores the invoice with Django's storage API.
"""

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rq.timeouts import JobTimeoutException
from selenium.common.exceptions import (
    ElementNotInteractableException,
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)

from carriers.browser import Browser, browser_session
from jobs import validators
from jobs.automation import AutomationError, JobContext

logger = logging.getLogger(__name__)

MIN_PDF_BYTES = 200
# What a timeout on a portal's page (no download involved) was waiting for.
PAGE_NOT_LOADED = "a página não terminou de carregar"


class CarrierAuthError(AutomationError):
    """The portal refused the login: retrying with the same credentials will not help."""

    category = "auth"
    permanent = True


class InvoiceNotFound(AutomationError):
    category = "navigation"
    permanent = True


class PortalChanged(AutomationError):
    """The portal did not show what the automation expects: its layout may have changed."""

    category = "navigation"


@dataclass(frozen=True)
class InvoiceRequest:
    kind: str
    portal_url: str
    login: str = ""
    senha: str = ""
    filtro: str = ""
    cnpj: str = ""  # digits only

    @property
    def carrier(self) -> str:
        return f"portal da {self.kind}"


@dataclass(frozen=True)
class Download:
    path: Path
    reference: str  # the invoice's month, YYYYMM


Fetch = Callable[[Browser, InvoiceRequest, JobContext], Download]


def invoice_download(ctx: JobContext, fetch: Fetch) -> str:
    """Run `fetch` in a fresh browser and store the invoice; returns its storage path."""
    request = invoice_request(ctx)
    with browser_session() as browser:
        browser_announce(ctx, browser)
        with failures_explained(ctx, browser, lambda exc: categorised(exc, request)):
            download = fetch(browser, request, ctx)
            content = download.path.read_bytes()
    pdf_verify(content, request)
    ctx.progress(85, "Fatura baixada e verificada")
    name = default_storage.save(
        f"{settings.INVOICE_STORAGE_DIR}/{request.kind.lower()}_{download.reference}.pdf", ContentFile(content)
    )
    ctx.log("INFO", f"Fatura armazenada em {name}")
    return name


def invoice_request(ctx: JobContext) -> InvoiceRequest:
    cnpj = ctx.params.get("cnpj", "")
    try:
        digits = validators.cnpj_digits(cnpj)
    except Exception as exc:
        raise AutomationError(f"CNPJ inválido: {cnpj}", category="navigation", permanent=True) from exc
    return InvoiceRequest(
        kind=ctx.kind,
        portal_url=settings.CARRIER_PORTAL_URLS[ctx.kind],
        login=ctx.secrets.get("login", ""),
        senha=ctx.secrets.get("senha", ""),
        filtro=ctx.params.get("filtro", ""),
        cnpj=digits,
    )


@contextlib.contextmanager
def failures_explained(ctx: JobContext, browser: Browser,
                       explain: Callable[[Exception], AutomationError]) -> Iterator[None]:
    """Around the portal steps of an automation: whatever goes wrong becomes the AutomationError
    `explain` makes of it, with a screenshot and the page source kept as evidence. A browser
    lost meanwhile fails at once as such (nothing is left to photograph), and the job's time
    limit passes through untouched."""
    try:
        yield
    except JobTimeoutException:
        raise
    except Exception as exc:
        if lost := browser.lost(exc):
            raise lost from exc
        failure = explain(exc)
        evidence_keep(ctx, browser)
        raise failure from exc


def categorised(exc: Exception, request: InvoiceRequest, *,
                waited_for: str = "a página não terminou de carregar ou o download não chegou") -> AutomationError:
    """One of the seed's categories, with a sentence that names the portal and never a secret;
    `waited_for` says what a timeout was waiting for."""
    where = request.carrier
    if isinstance(exc, AutomationError):
        return exc
    if isinstance(exc, TimeoutException | TimeoutError):
        return AutomationError(
            f"Tempo esgotado esperando o {where} ({settings.BROWSER_WAIT_SECONDS} s): {waited_for}.",
            category="timeout",
        )
    if isinstance(exc, NoSuchElementException | ElementNotInteractableException | StaleElementReferenceException):
        return PortalChanged(
            f"O {where} não mostrou o que a automação esperava ({_short(exc)}); o portal pode ter mudado."
        )
    if isinstance(exc, WebDriverException):
        return AutomationError(f"Erro de navegação no {where}: {_short(exc)}", category="navigation")
    if isinstance(exc, OSError):
        return AutomationError(f"Erro ao ler o arquivo baixado do {where}.", category="file")
    logger.exception("unexpected error in the %s automation", request.kind)
    return AutomationError(f"Erro inesperado na automação do {where}.", category="internal")


def pdf_verify(content: bytes, request: InvoiceRequest) -> None:
    """The silent-breakage guard: a download that is empty or not a PDF fails the job."""
    if len(content) < MIN_PDF_BYTES or not content.startswith(b"%PDF-") or b"%%EOF" not in content[-1024:]:
        raise AutomationError(
            f"O arquivo baixado do {request.carrier} não é um PDF válido ({len(content)} bytes); "
            "o portal pode ter mudado.",
            category="file",
        )


def browser_announce(ctx: JobContext, browser: Browser) -> None:
    """Name the Grid node that runs the browser, so trouble on one machine can be traced to its jobs."""
    if browser.node:
        ctx.log("INFO", f"Navegador remoto no nó {browser.node} do Selenium Grid")


def evidence_keep(ctx: JobContext, browser: Browser) -> None:
    """A screenshot and the page source of the failure, kept with the job for staff."""
    try:
        ctx.artifact("falha_tela.png", browser.driver.get_screenshot_as_png())
        ctx.artifact("falha_pagina.html", ctx.redact(browser.driver.page_source).encode())
        ctx.log("INFO", "Captura de tela e código da página guardados com o job")
    except Exception:  # noqa: BLE001 - the evidence must never hide the failure itself
        logger.warning("could not keep the failure evidence of job %s", ctx.job_id, exc_info=True)


def _short(exc: Exception) -> str:
    message = (getattr(exc, "msg", None) or str(exc) or type(exc).__name__).strip().splitlines()[0]
    # Selenium appends a link to its troubleshooting guide to its own messages.
    message = message.split("; For documentation on this error")[0]
    selector = re.search(r'"selector":"(.*)"}', message)
    if isinstance(exc, NoSuchElementException) and selector:
        return f"elemento {selector.group(1)} não encontrado"
    return message[:160]
