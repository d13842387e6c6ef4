"""Sandbox of the OI portal: a two-step login (e-mail, then password) and a contract picker.

/sandbox/oi/entrar        step 1: e-mail          → step 2: password
/sandbox/oi/faturas       contract <select> + "Consultar" → table of invoices with PDF links
/sandbox/oi/faturas/<filtro>/<reference>.pdf
"""

from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import RedirectView

from carriers.sandbox import common

CARRIER = "OI"
ACCOUNTS = common.accounts_for(CARRIER, extra=(
    common.Account("financeiro@lojasoi.com.br", "oi-2024", "11222333000181", ("40020001", "40020002"),
                   "LOJAS EXEMPLO S.A."),
))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "GET":
        return render(request, "sandbox/oi/login_email.html")
    login_value = request.POST.get("login", "").strip()
    if "senha" not in request.POST:
        if login_value not in ACCOUNTS:
            return render(request, "sandbox/oi/login_email.html",
                          {"erro": "E-mail não cadastrado no Minha OI Empresas."}, status=200)
        return render(request, "sandbox/oi/login_senha.html", {"login": login_value})
    account = ACCOUNTS.get(login_value)
    if account is None or request.POST.get("senha") != account.password:
        return render(request, "sandbox/oi/login_senha.html",
                      {"login": login_value, "erro": "Senha incorreta. Verifique e tente novamente."})
    return common.session_start(HttpResponseRedirect(reverse("sandbox:oi-invoices")), CARRIER, account.login)


def invoices(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:oi-login"))
    contract = request.GET.get("contrato", "")
    context = {
        "account": account,
        "cnpj": common.format_cnpj(account.cnpj),
        "contracts": account.filtros,
        "contract": contract,
        "loading": contract == common.HANG_FILTRO,
        "invoices": common.invoices_of(CARRIER, account, contract) if contract else [],
    }
    template = "sandbox/oi/faturas_v2.html" if account.login == common.LAYOUT_LOGIN else "sandbox/oi/faturas.html"
    return render(request, template, context)


def invoice_file(request, filtro: str, reference: str):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:oi-login"))
    for invoice in common.invoices_of(CARRIER, account, filtro):
        if invoice.reference == reference:
            return common.invoice_file_response(invoice)
    raise Http404("Fatura não encontrada")


def logout(request):
    return common.session_end(HttpResponseRedirect(reverse("sandbox:oi-login")), CARRIER)


urlpatterns = [
    path("oi/", RedirectView.as_view(pattern_name="sandbox:oi-login"), name="oi-home"),
    path("oi/entrar", login, name="oi-login"),
    path("oi/sair", logout, name="oi-logout"),
    path("oi/faturas", invoices, name="oi-invoices"),
    path("oi/faturas/<str:filtro>/<str:reference>.pdf", invoice_file, name="oi-invoice-file"),
]
