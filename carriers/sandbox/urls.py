"""/sandbox/<carrier>/…: imitations of the carrier portals and of SAT (SANDBOX_PORTALS=1)."""

from django.urls import path
from django.views.generic import RedirectView

from carriers.sandbox import oi

app_name = "sandbox"

urlpatterns = [
    path("oi/", RedirectView.as_view(pattern_name="sandbox:oi-login"), name="oi-home"),
    path("oi/entrar", oi.login, name="oi-login"),
    path("oi/sair", oi.logout, name="oi-logout"),
    path("oi/faturas", oi.invoices, name="oi-invoices"),
    path("oi/faturas/<str:filtro>/<str:reference>.pdf", oi.invoice_file, name="oi-invoice-file"),
]
