"""DIGITALNET: invoice download from the DigitalNet customer area (a JavaScript app: the login form
and the invoice cards are rendered in the browser, and a download is prepared before it arrives)."""

from selenium.webdriver.common.by import By

from carriers.browser import Browser
from carriers.invoices import CarrierAuthError, Download, InvoiceNotFound, InvoiceRequest, invoice_download
from carriers.pages import Page
from jobs.automation import JobContext


def run(ctx: JobContext) -> str:
    return invoice_download(ctx, fetch)


def fetch(browser: Browser, request: InvoiceRequest, ctx: JobContext) -> Download:
    ctx.log("INFO", "Acessando a Área do Cliente DigitalNet")
    dashboard = LoginPage(browser, request).open().sign_in(request.login, request.senha)
    ctx.progress(45, "Login realizado no portal da DIGITALNET")

    reference = dashboard.newest(request.filtro)
    ctx.progress(60, f"Fatura {reference[4:]}/{reference[:4]} encontrada para o contrato {request.filtro}")

    dashboard.download(request.filtro, reference)
    ctx.log("INFO", "Aguardando o portal preparar o download")
    path = browser.wait_for_download(".pdf")
    ctx.progress(75, "Download da fatura concluído")
    return Download(path=path, reference=reference)


class LoginPage(Page):
    def open(self) -> "LoginPage":
        self.browser.driver.get(self.url("entrar"))
        self.wait_for(By.ID, "dn-cnpj")  # rendered by the app's JavaScript, not in the HTML
        return self

    def sign_in(self, login: str, senha: str) -> "DashboardPage":
        self.fill(By.ID, "dn-cnpj", self.request_cnpj)
        self.fill(By.ID, "dn-email", login)
        self.fill(By.ID, "dn-senha", senha)
        self.click(By.ID, "dn-entrar")
        # Either the dashboard app finishes rendering, or the login form shows the portal's error.
        self.wait_any((By.CSS_SELECTOR, "body[data-dn-pronto]"), (By.CSS_SELECTOR, ".dn-erro"))
        self.raise_if_alert(".dn-erro", CarrierAuthError)
        return DashboardPage(self.browser, self.request)


class DashboardPage(Page):
    def newest(self, filtro: str) -> str:
        self.require(By.ID, "dn-faturas", "painel de faturas")
        cards = self.find_all(By.CSS_SELECTOR, f'#dn-faturas .dn-card[data-contrato="{filtro}"]')
        if not cards:
            raise InvoiceNotFound(f"Nenhuma fatura encontrada para o filtro {filtro} no portal da DIGITALNET.")
        return max(card.get_attribute("data-referencia") for card in cards)

    def download(self, filtro: str, reference: str) -> None:
        # A card still "Gerando fatura…" has no button yet; the app shows it once the invoice is ready.
        self.click(By.CSS_SELECTOR,
                   f'#dn-faturas .dn-card[data-contrato="{filtro}"][data-referencia="{reference}"] button.dn-baixar')
