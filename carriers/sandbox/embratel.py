"""Sandbox of the EMBRATEL portal (Embratel Empresas): a cookie banner that covers the page until
accepted, a login form, and a search form whose results arrive a moment later by polling.

/sandbox/embratel/entrar                  login + senha (behind the cookie banner)
/sandbox/embratel/pesquisa                CNPJ + número do contrato → "Processando pesquisa…"
/sandbox/embratel/pesquisa/resultados     JSON the page polls: {"situacao": "processando"} until the
                                          results are ready (never, for contract 99999999)
/sandbox/embratel/faturas/download        POST contrato + competencia → the PDF
"""

import asyncio

from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.generic import RedirectView

from carriers.sandbox import common

CARRIER = "EMBRATEL"
# The search is slow on purpose: the automation must wait for the results, not assume them.
SEARCH_SECONDS = 1.2
ACCOUNTS = common.accounts_for(CARRIER, extra=(
    common.Account("contas@industriaexemplo.com.br", "embratel-2024", "60701190000104",
                   ("2100450", "2100451"), "INDUSTRIA EXEMPLO S.A."),
))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "GET":
        return render(request, "sandbox/embratel/login.html")
    account = ACCOUNTS.get(request.POST.get("usuario", "").strip())
    if account is None or request.POST.get("senha") != account.password:
        return render(request, "sandbox/embratel/login.html",
                      {"erro": "Credenciais inválidas. Confira o usuário e a senha de acesso."})
    return common.session_start(HttpResponseRedirect(reverse("sandbox:embratel-search")), CARRIER, account.login)


def search(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:embratel-login"))
    template = ("sandbox/embratel/pesquisa_v2.html" if account.login == common.LAYOUT_LOGIN
                else "sandbox/embratel/pesquisa.html")
    return render(request, template, {"account": account})


@require_GET
async def search_results(request):
    """What the search page polls; each poll takes a while, like the real portal's search."""
    account = common.session_account(request, CARRIER, ACCOUNTS)  # a signed cookie only: no database in this async view
    if account is None:
        return JsonResponse({"erro": "Sessão expirada."}, status=401)
    contract = request.GET.get("contrato", "").strip()
    await asyncio.sleep(SEARCH_SECONDS)
    if contract == common.HANG_FILTRO:
        return JsonResponse({"situacao": "processando"})
    found = common.invoices_of(CARRIER, account, contract, request.GET.get("cnpj", "")) if contract else []
    return JsonResponse({"situacao": "concluida", "faturas": [
        {"contrato": invoice.filtro, "competencia": invoice.reference, "mes": invoice.month_label,
         "vencimento": f"{invoice.due_date:%d/%m/%Y}", "valor": invoice.amount}
        for invoice in found
    ]})


@csrf_exempt
@require_POST
def invoice_file(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:embratel-login"))
    contract, reference = request.POST.get("contrato", ""), request.POST.get("competencia", "")
    for invoice in common.invoices_of(CARRIER, account, contract):
        if invoice.reference == reference:
            return common.invoice_file_response(invoice)
    raise Http404("Fatura não encontrada")


def logout(request):
    return common.session_end(HttpResponseRedirect(reverse("sandbox:embratel-login")), CARRIER)


urlpatterns = [
    path("embratel/", RedirectView.as_view(pattern_name="sandbox:embratel-login"), name="embratel-home"),
    path("embratel/entrar", login, name="embratel-login"),
    path("embratel/sair", logout, name="embratel-logout"),
    path("embratel/pesquisa", search, name="embratel-search"),
    path("embratel/pesquisa/resultados", search_results, name="embratel-search-results"),
    path("embratel/faturas/download", invoice_file, name="embratel-invoice-file"),
]
