"""VIVO: invoice download from Vivo Empresas (paginated invoice table, second copy prepared on demand)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from carriers.browser import Browser
from carriers.invoices import CarrierAuthError, Download, InvoiceNotFound, InvoiceRequest, invoice_download
from carriers.pages import Page
from jobs.automation import JobContext

# A portal with more pages than this is not the one the automation knows.
MAX_PAGES = 50


def run(ctx: JobContext) -> str:
    return invoice_download(ctx, fetch)


def fetch(browser: Browser, request: InvoiceRequest, ctx: JobContext) -> Download:
    ctx.log("INFO", "Acessando o portal Vivo Empresas")
    table = LoginPage(browser, request).open().sign_in(request.login, request.senha)
    ctx.progress(45, "Login realizado no portal da VIVO")

    table.check_cnpj(request.cnpj)
    reference = table.find_newest(request.filtro)
    ctx.progress(60, f"Fatura {reference[4:]}/{reference[:4]} encontrada para o código do cliente {request.filtro}")

    second_copy = table.open_second_copy(request.filtro, reference)
    ctx.log("INFO", "Aguardando a 2ª via ficar pronta")
    second_copy.download()
    path = browser.wait_for_download(".pdf")
    ctx.progress(75, "Download da fatura concluído")
    return Download(path=path, reference=reference)


class LoginPage(Page):
    def open(self) -> "LoginPage":
        self.browser.driver.get(self.url("entrar"))
        self.wait_for(By.ID, "vivo-usuario")
        return self

    def sign_in(self, login: str, senha: str) -> "InvoiceTablePage":
        self.fill(By.ID, "vivo-usuario", login)
        self.fill(By.ID, "vivo-senha", senha)
        self.click_to_next_page(By.ID, "vivo-acessar")
        self.raise_if_alert("#vivo-mensagem-erro", CarrierAuthError)
        return InvoiceTablePage(self.browser, self.request)


class InvoiceTablePage(Page):
    def check_cnpj(self, cnpj: str) -> None:
        if self.digits(self.find(By.ID, "vivo-cnpj-titular").text) != cnpj:
            raise InvoiceNotFound(f"O CNPJ {self.request_cnpj} não pertence a esta conta do portal da VIVO.")

    def find_newest(self, filtro: str) -> str:
        """Page through the table (newest first) to the first row of this customer code."""
        for _ in range(MAX_PAGES):
            self.find(By.ID, "vivo-faturas")
            rows = self.find_all(By.CSS_SELECTOR, f'#vivo-faturas tr[data-cliente="{filtro}"]')
            if rows:
                return rows[0].get_attribute("data-referencia")
            if not self.find_all(By.ID, "vivo-proxima"):
                break
            self.click_to_next_page(By.ID, "vivo-proxima")
        raise InvoiceNotFound(f"Nenhuma fatura encontrada para o filtro {filtro} no portal da VIVO.")

    def open_second_copy(self, filtro: str, reference: str) -> "SecondCopyPage":
        row = f'#vivo-faturas tr[data-cliente="{filtro}"][data-referencia="{reference}"]'
        self.click_to_next_page(By.CSS_SELECTOR, f"{row} a.vivo-segunda-via")
        return SecondCopyPage(self.browser, self.request)


class SecondCopyPage(Page):
    def download(self) -> None:
        self.require(By.ID, "vivo-preparando", "aviso de preparo da 2ª via")
        self.wait.until(ec.visibility_of_element_located((By.ID, "vivo-baixar"))).click()
