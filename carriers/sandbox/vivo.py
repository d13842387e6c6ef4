"""Sandbox of the VIVO portal (Vivo Empresas): one login form, a paginated table of every
contract's invoices, and a second copy ("2ª via") that is prepared before it can be downloaded.

/sandbox/vivo/entrar                         login + senha
/sandbox/vivo/faturas?pagina=N               4 invoices a page by customer code, newest first, "Próxima"
/sandbox/vivo/segunda-via/<filtro>/<ref>     "Preparando…" for a second, then the download link
/sandbox/vivo/segunda-via/<filtro>/<ref>.pdf the PDF
"""

import asyncio

from django.core.paginator import Paginator
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods
from django.views.generic import RedirectView

from carriers.sandbox import common

CARRIER = "VIVO"
PAGE_SIZE = 4
PREPARE_SECONDS = 1.0
ACCOUNTS = common.accounts_for(CARRIER, extra=(
    common.Account("ti@transportesvivo.com.br", "vivo-2024", "11444777000161",
                   ("7700101", "7700102", "7700103", "7700104"), "TRANSPORTES EXEMPLO LTDA"),
))


@csrf_exempt
@require_http_methods(["GET", "POST"])
def login(request):
    if request.method == "GET":
        return render(request, "sandbox/vivo/login.html")
    account = ACCOUNTS.get(request.POST.get("login", "").strip())
    if account is None or request.POST.get("senha") != account.password:
        return render(request, "sandbox/vivo/login.html",
                      {"erro": "Usuário ou senha inválidos. Após 5 tentativas o acesso será bloqueado."})
    return common.session_start(HttpResponseRedirect(reverse("sandbox:vivo-invoices")), CARRIER, account.login)


def invoices(request):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:vivo-login"))
    every = sorted(common.invoices_of(CARRIER, account, cnpj=request.GET.get("cnpj", "")),
                   key=lambda invoice: (invoice.filtro, invoice.reference), reverse=True)
    page = Paginator(every, PAGE_SIZE).get_page(request.GET.get("pagina"))
    template = "sandbox/vivo/faturas_v2.html" if account.login == common.LAYOUT_LOGIN else "sandbox/vivo/faturas.html"
    return render(request, template, {
        "account": account, "cnpj": common.format_cnpj(account.cnpj), "page": page,
        "cnpj_filter": request.GET.get("cnpj", ""),
    })


async def second_copy(request, filtro: str, reference: str):
    """The page that 'prepares' the second copy; the link appears once it is ready (never for 99999999)."""
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:vivo-login"))
    invoice = common.invoice_get(CARRIER, account, filtro, reference)
    await asyncio.sleep(0.2)
    return render(request, "sandbox/vivo/segunda_via.html", {
        "invoice": invoice, "ready_after_ms": int(PREPARE_SECONDS * 1000),
        "never_ready": filtro == common.HANG_FILTRO,
    })


def invoice_file(request, filtro: str, reference: str):
    account = common.session_account(request, CARRIER, ACCOUNTS)
    if account is None:
        return HttpResponseRedirect(reverse("sandbox:vivo-login"))
    return common.invoice_file_response(common.invoice_get(CARRIER, account, filtro, reference))


def logout(request):
    return common.session_end(HttpResponseRedirect(reverse("sandbox:vivo-login")), CARRIER)


urlpatterns = [
    path("vivo/", RedirectView.as_view(pattern_name="sandbox:vivo-login"), name="vivo-home"),
    path("vivo/entrar", login, name="vivo-login"),
    path("vivo/sair", logout, name="vivo-logout"),
    path("vivo/faturas", invoices, name="vivo-invoices"),
    # The .pdf route first: <str:reference> would also match "202401.pdf".
    path("vivo/segunda-via/<str:filtro>/<str:reference>.pdf", invoice_file, name="vivo-invoice-file"),
    path("vivo/segunda-via/<str:filtro>/<str:reference>", second_copy, name="vivo-second-copy"),
]
