"""OI: invoice download from Minha OI Empresas (two-step login, then a contract picker)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from carriers.browser import Browser
from carriers.invoices import CarrierAuthError, Download, InvoiceNotFound, InvoiceRequest, invoice_download
from carriers.pages import Page
from jobs.automation import JobContext


def run(ctx: JobContext) -> str:
    return invoice_download(ctx, fetch)


def fetch(browser: Browser, request: InvoiceRequest, ctx: JobContext) -> Download:
    ctx.log("INFO", "Acessando o portal Minha OI Empresas")
    invoices = LoginPage(browser, request).open().sign_in(request.login, request.senha)
    ctx.progress(45, "Login realizado no portal da OI")

    invoices.check_cnpj(request.cnpj)
    reference = invoices.choose_contract(request.filtro)
    ctx.progress(60, f"Fatura {reference[4:]}/{reference[:4]} encontrada para o contrato {request.filtro}")

    invoices.download(reference)
    path = browser.wait_for_download(".pdf")
    ctx.progress(75, "Download da fatura concluído")
    return Download(path=path, reference=reference)


class LoginPage(Page):
    def open(self) -> "LoginPage":
        self.browser.driver.get(self.url("entrar"))
        self.wait_for(By.ID, "oi-email")
        return self

    def sign_in(self, login: str, senha: str) -> "InvoicesPage":
        self.fill(By.ID, "oi-email", login)
        self.click_to_next_page(By.ID, "oi-continuar")
        self.raise_if_alert(".oi-alerta", CarrierAuthError)
        self.fill(By.ID, "oi-senha", senha)
        self.click_to_next_page(By.ID, "oi-entrar")
        self.raise_if_alert(".oi-alerta", CarrierAuthError)
        return InvoicesPage(self.browser, self.request)


class InvoicesPage(Page):
    def check_cnpj(self, cnpj: str) -> None:
        shown = self.digits(self.find(By.ID, "oi-cnpj").text)
        if shown != cnpj:
            raise InvoiceNotFound(f"O CNPJ {self.request_cnpj} não pertence a esta conta do portal da OI.")

    def choose_contract(self, filtro: str) -> str:
        picker = Select(self.find(By.ID, "oi-contrato"))
        if filtro not in [option.get_attribute("value") for option in picker.options]:
            raise InvoiceNotFound(f"Nenhuma fatura encontrada para o filtro {filtro} no portal da OI.")
        picker.select_by_value(filtro)
        self.click_to_next_page(By.ID, "oi-consultar")
        self.wait_for(By.ID, "oi-faturas")
        rows = self.find_all(By.CSS_SELECTOR, "#oi-faturas tbody tr[data-referencia]")
        if not rows:
            raise InvoiceNotFound(f"Nenhuma fatura encontrada para o filtro {filtro} no portal da OI.")
        return rows[0].get_attribute("data-referencia")

    def download(self, reference: str) -> None:
        self.click(By.CSS_SELECTOR, f'#oi-faturas tr[data-referencia="{reference}"] a.oi-baixar')
