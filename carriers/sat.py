"""SAT: deliver an invoice kept in storage to SAT, with its nine fields (seed 003 §4.2.3, §5.2).

SAT_DELIVERY chooses the way:
- "browser" (default): log in to the SAT web portal, fill the upload form, read the protocol number;
- "api": POST the file to the SAT API with a bearer token (carriers/sat_api.py, seed 002).

Either way the credentials are the company's SAT integration user (SAT_API_USERNAME /
SAT_API_PASSWORD, from settings, never from the job), and the result names SAT's protocol.
"""

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from carriers.browser import browser_session
from carriers.invoices import (
    PAGE_NOT_LOADED,
    CarrierAuthError,
    InvoiceRequest,
    browser_announce,
    categorised,
    failures_explained,
)
from carriers.pages import Page
from carriers.sat_api import SatApiClient, SatAuthError, SatRejected
from jobs.automation import AutomationError, JobContext
from jobs.selectors import invoice_storage_path

FIELDS = (
    "cnpj",
    "razao",
    "operadora",
    "nome_filtro",
    "unidade",
    "servico",
    "dados_sat",
    "nome_arquivo",
    "data_vencimento",
)


@dataclass(frozen=True)
class Envio:
    """One invoice to deliver: SAT's nine fields and the file itself."""

    fields: dict[str, str]
    file_name: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class SatPortal(InvoiceRequest):
    @property
    def carrier(self) -> str:
        return "portal do SAT"


def run(ctx: JobContext) -> str:
    deliver = DELIVERIES.get(settings.SAT_DELIVERY)
    if deliver is None:
        raise AutomationError(
            f"SAT_DELIVERY inválido: {settings.SAT_DELIVERY!r} (use 'browser' ou 'api').",
            category="config",
            permanent=True,
        )
    # The SAT password comes from settings, not from the job: redact it like the job's own secrets.
    ctx.secrets = {**ctx.secrets, "sat_password": settings.SAT_API_PASSWORD}
    envio = envio_load(ctx)
    ctx.log("INFO", f"Fatura {envio.file_name} lida do armazenamento ({len(envio.content)} bytes)")
    protocolo = deliver(ctx, envio)
    ctx.progress(85, f"Fatura {envio.file_name} entregue ao SAT")
    return f"SAT protocolo {protocolo} ({envio.file_name})"


def envio_load(ctx: JobContext) -> Envio:
    """The job's fields and the file `nome_arquivo` from storage (faturas/<nome>, or that exact path)."""
    name = ctx.params.get("nome_arquivo", "").strip()
    path = invoice_storage_path(name)
    try:
        if not name or not default_storage.exists(path):
            raise FileNotFoundError(path)
        with default_storage.open(path, "rb") as stored:
            content = stored.read()
    except (OSError, SuspiciousFileOperation):
        raise AutomationError(
            f"Arquivo {name} não encontrado no armazenamento ({path}): "
            "baixe a fatura da operadora antes de enviá-la ao SAT.",
            category="file",
            permanent=True,
        ) from None
    file_name = PurePosixPath(path).name
    fields = {key: str(ctx.params.get(key, "")) for key in FIELDS}
    # SAT knows the file by the name it arrives with.
    fields["nome_arquivo"] = file_name
    return Envio(fields=fields, file_name=file_name, content=content)


# --- delivery through the web portal --------------------------------------------------------


def deliver_by_browser(ctx: JobContext, envio: Envio) -> str:
    portal = SatPortal(
        kind="SAT",
        portal_url=settings.CARRIER_PORTAL_URLS["SAT"],
        login=settings.SAT_API_USERNAME,
        senha=settings.SAT_API_PASSWORD,
    )
    ctx.log("INFO", "Acessando o portal do SAT")
    with browser_session() as browser, tempfile.TemporaryDirectory(prefix="sat-", dir=settings.BROWSER_TMP_DIR) as tmp:
        # The browser uploads from a file on disk, under the name SAT will see.
        upload = Path(tmp) / envio.file_name
        upload.write_bytes(envio.content)
        browser_announce(ctx, browser)
        with failures_explained(ctx, browser, lambda exc: categorised(exc, portal, waited_for=PAGE_NOT_LOADED)):
            form = LoginPage(browser, portal).open().sign_in(portal.login, portal.senha)
            ctx.progress(45, "Login realizado no portal do SAT")
            form.fill_in(envio, upload)
            ctx.progress(60, f"Formulário de envio preenchido com a fatura {envio.file_name}")
            protocolo = form.submit(envio)
    ctx.progress(75, f"Protocolo {protocolo} emitido pelo portal do SAT")
    return protocolo




class LoginPage(Page):
    def open(self) -> "LoginPage":
        self.browser.driver.get(self.url("entrar"))
        self.wait_for(By.ID, "sat-usuario")
        return self

    def sign_in(self, usuario: str, senha: str) -> "EnvioPage":
        self.fill(By.ID, "sat-usuario", usuario)
        self.fill(By.ID, "sat-senha", senha)
        self.click_to_next_page(By.ID, "sat-entrar")
        self.raise_if_alert("#sat-erro-login", CarrierAuthError)
        return EnvioPage(self.browser, self.request)


class EnvioPage(Page):
    TEXT_INPUTS = {
        "cnpj": "sat-cnpj",
        "razao": "sat-razao",
        "unidade": "sat-unidade",
        "servico": "sat-servico",
        "nome_filtro": "sat-nome-filtro",
        "data_vencimento": "sat-vencimento",
        "dados_sat": "sat-dados",
        "nome_arquivo": "sat-nome-arquivo",
    }

    def fill_in(self, envio: Envio, upload: Path) -> None:
        self.require(By.ID, "sat-form-envio", "formulário de envio de fatura")
        for name, element_id in self.TEXT_INPUTS.items():
            field_element = self.find(By.ID, element_id)
            field_element.clear()
            field_element.send_keys(envio.fields[name])
        self.choose_operadora(envio.fields["operadora"])
        self.find(By.ID, "sat-arquivo").send_keys(str(upload))

    def choose_operadora(self, operadora: str) -> None:
        picker = Select(self.find(By.ID, "sat-operadora"))
        offered = {option.get_attribute("value").upper(): option.get_attribute("value") for option in picker.options}
        value = offered.get(operadora.strip().upper())
        if not value:
            raise AutomationError(
                f"A operadora {operadora} não está entre as opções do portal do SAT.",
                category="navigation",
                permanent=True,
            )
        picker.select_by_value(value)

    def submit(self, envio: Envio) -> str:
        """Send the form; the receipt's protocol number, or SAT's reasons for refusing the file."""
        self.click_to_next_page(By.ID, "sat-enviar")
        shown = self.wait_any((By.ID, "sat-protocolo"), (By.ID, "sat-erros"))
        if shown.get_attribute("id") == "sat-erros":
            reasons = [item.text.strip() for item in self.find_all(By.CSS_SELECTOR, "#sat-erros li")]
            raise SatRejected(f"O SAT recusou o envio de {envio.file_name}: {'; '.join(reasons) or shown.text}")
        return shown.text.strip()


# --- delivery through the API ---------------------------------------------------------------


def deliver_by_api(ctx: JobContext, envio: Envio) -> str:
    client = SatApiClient()
    ctx.log("INFO", "Conectando à API do SAT")
    try:
        client.token()
        ctx.progress(45, "Autenticado na API do SAT")
        ctx.progress(60, f"Enviando a fatura {envio.file_name} à API do SAT")
        protocolo = client.send(fields=envio.fields, file_name=envio.file_name, content=envio.content)
    except SatAuthError:
        ctx.log("ERROR", f"Envio da fatura {envio.file_name} cancelado: a API do SAT recusou a autenticação")
        raise
    ctx.progress(75, f"Protocolo {protocolo} emitido pela API do SAT")
    return protocolo


DELIVERIES: dict[str, Callable[[JobContext, Envio], str]] = {
    "browser": deliver_by_browser,
    "api": deliver_by_api,
}
