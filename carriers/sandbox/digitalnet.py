"""Sandbox of the DIGITALNET portal: a small single-page app. Its pages are empty shells that
JavaScript fills from a JSON API, and a download is prepared on request before the file arrives.

/sandbox/digitalnet/entrar                      shell; the login form (CNPJ, e-mail, senha) is rendered by JS
/sandbox/digitalnet/painel                      shell; the invoice cards are fetched and rendered by JS
/sandbox/digitalnet/api/sessao                  POST JSON {cnpj, email, senha} → session cookie, or 401 {erro}
/sandbox/digitalnet/api/faturas                 GET → {faturas: [{contrato, referencia, situacao, …}]}
/sandbox/digitalnet/api/faturas/<c>/<ref>/preparar  POST → {arquivo: url} after a delay
/sandbox/digitalnet/arquivos/<c>/<ref>.pdf      the PDF

The newest invoice of contract 99999999 stays "gerando" (being generated) forever.
"""

import asyncio

from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django.views.generic import RedirectView

from carriers.sandbox import common
from project.jsonbody import json_loads_bounded

CARRIER = "DIGITALNET"
# Preparing a file takes the portal a while; the automation must wait for the download.
PREPARE_SECONDS = 1.5
ACCOUNTS = common.accounts_for(CARRIER, extra=(
    common.Account("compras@redeexemplo.com.br", "dnet-2024", "04206050000180", ("DN-88001",),
                   "REDE EXEMPLO COMERCIO LTDA"),
))


def login_page(request):
    return render(request, "sandbox/digitalnet/entrar.html")


def dashboard(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:digitalnet-login"))
    template = ("sandbox/digitalnet/painel_v2.html" if account.login == common.LAYOUT_LOGIN
                else "sandbox/digitalnet/painel.html")
    return render(request, template, {"account": account, "cnpj": common.format_cnpj(account.cnpj)})


@csrf_exempt
@require_POST
def session(request):
    try:
        body = json_loads_bounded(request.body)
        email, senha, cnpj = str(body["email"]).strip(), str(body["senha"]), str(body["cnpj"])
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"erro": "Preencha CNPJ, e-mail e senha."}, status=400)
    account = ACCOUNTS.get(email)
    if account is None or senha != account.password:
        return JsonResponse({"erro": "E-mail ou senha incorretos."}, status=401)
    if "".join(ch for ch in cnpj if ch.isdigit()) != account.cnpj:
        return JsonResponse({"erro": "Este CNPJ não está vinculado ao seu usuário."}, status=401)
    return common.session_start(JsonResponse({"ok": True, "destino": reverse("sandbox:digitalnet-dashboard")}),
                                CARRIER, account.login)


@require_GET
def invoices(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return JsonResponse({"erro": "Sessão expirada."}, status=401)
    return JsonResponse({"faturas": [
        {"contrato": invoice.filtro, "referencia": invoice.reference, "mes": invoice.month_label,
         "vencimento": f"{invoice.due_date:%d/%m/%Y}", "valor": invoice.amount,
         "situacao": "gerando" if _being_generated(invoice) else "disponivel"}
        for invoice in common.invoices_of(CARRIER, account)
    ]})


@csrf_exempt
@require_POST
async def prepare(request, filtro: str, reference: str):
    account = common.session_account(request, CARRIER, ACCOUNTS)  # a signed cookie only: no database in this async view
    if account is None:
        return JsonResponse({"erro": "Sessão expirada."}, status=401)
    invoice = common.invoice_get(CARRIER, account, filtro, reference)
    if _being_generated(invoice):
        return JsonResponse({"erro": "A fatura ainda está sendo gerada."}, status=409)
    await asyncio.sleep(PREPARE_SECONDS)
    return JsonResponse({"arquivo": reverse("sandbox:digitalnet-invoice-file", args=[filtro, reference])})


def invoice_file(request, filtro: str, reference: str):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:digitalnet-login"))
    return common.invoice_file_response(common.invoice_get(CARRIER, account, filtro, reference))


def logout(request):
    return common.session_end(HttpResponseRedirect(reverse("sandbox:digitalnet-login")), CARRIER)


urlpatterns = [
    path("digitalnet/", RedirectView.as_view(pattern_name="sandbox:digitalnet-login"), name="digitalnet-home"),
    path("digitalnet/entrar", login_page, name="digitalnet-login"),
    path("digitalnet/sair", logout, name="digitalnet-logout"),
    path("digitalnet/painel", dashboard, name="digitalnet-dashboard"),
    path("digitalnet/api/sessao", session, name="digitalnet-session"),
    path("digitalnet/api/faturas", invoices, name="digitalnet-invoices"),
    path("digitalnet/api/faturas/<str:filtro>/<str:reference>/preparar", prepare, name="digitalnet-prepare"),
    path("digitalnet/arquivos/<str:filtro>/<str:reference>.pdf", invoice_file, name="digitalnet-invoice-file"),
]




def _being_generated(invoice) -> bool:
    return invoice.filtro == common.HANG_FILTRO and invoice.reference == common.MONTHS[0]
