"""EMBRATEL: invoice download from the Embratel business portal (cookie banner, login, slow search)."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from carriers.browser import Browser
from carriers.invoices import CarrierAuthError, Download, InvoiceNotFound, InvoiceRequest, invoice_download
from carriers.pages import Page
from jobs.automation import JobContext


def run(ctx: JobContext) -> str:
    return invoice_download(ctx, fetch)


def fetch(browser: Browser, request: InvoiceRequest, ctx: JobContext) -> Download:
    ctx.log("INFO", "Acessando o portal Embratel Empresas")
    search = LoginPage(browser, request).open().accept_cookies().sign_in(request.login, request.senha)
    ctx.progress(45, "Login realizado no portal da EMBRATEL")

    ctx.log("INFO", f"Pesquisando faturas do contrato {request.filtro}")
    results = search.search(request.cnpj, request.filtro)
    reference = results.newest(request.filtro)
    ctx.progress(60, f"Fatura {reference[4:]}/{reference[:4]} encontrada para o contrato {request.filtro}")

    results.download(request.filtro, reference)
    path = browser.wait_for_download(".pdf")
    ctx.progress(75, "Download da fatura concluído")
    return Download(path=path, reference=reference)


class LoginPage(Page):
    def open(self) -> "LoginPage":
        self.browser.driver.get(self.url("entrar"))
        self.wait_for(By.ID, "emb-usuario")
        return self

    def accept_cookies(self) -> "LoginPage":
        """The banner covers the whole page: nothing below it takes a click until it is accepted."""
        self.click(By.ID, "emb-aceitar-cookies")
        self.wait.until(ec.invisibility_of_element_located((By.ID, "emb-cookies")))
        return self

    def sign_in(self, login: str, senha: str) -> "SearchPage":
        self.fill(By.ID, "emb-usuario", login)
        self.fill(By.ID, "emb-senha", senha)
        self.click_to_next_page(By.ID, "emb-entrar")
        self.raise_if_alert(".emb-aviso", CarrierAuthError)
        return SearchPage(self.browser, self.request)


class SearchPage(Page):
    def search(self, cnpj: str, filtro: str) -> "ResultsPage":
        self.require(By.ID, "emb-contrato", "campo do número do contrato")
        self.fill(By.ID, "emb-cnpj", self.request_cnpj)
        self.fill(By.ID, "emb-contrato", filtro)
        self.click(By.ID, "emb-pesquisar")
        # The portal answers "Processando pesquisa…" first; the table or "no result" comes later.
        self.wait_any((By.ID, "emb-tabela-faturas"), (By.ID, "emb-nenhum"))
        return ResultsPage(self.browser, self.request)


class ResultsPage(Page):
    def newest(self, filtro: str) -> str:
        rows = self.find_all(By.CSS_SELECTOR, f'#emb-tabela-faturas tr[data-contrato="{filtro}"]')
        if not rows:
            raise InvoiceNotFound(f"Nenhuma fatura encontrada para o filtro {filtro} no portal da EMBRATEL.")
        return max(row.get_attribute("data-competencia") for row in rows)

    def download(self, filtro: str, reference: str) -> None:
        row = f'#emb-tabela-faturas tr[data-contrato="{filtro}"][data-competencia="{reference}"]'
        self.click(By.CSS_SELECTOR, f"{row} button.emb-download")
