"""The console's admin site: its own titles, Portuguese names for the entries of the libraries we
use, and a base class for admin pages that only show what happened.

django-rq's entry is renamed here, where the admin lists it: its model cannot be renamed without
a migration inside its package. (simplejwt's token models are shown through proxies in
accounts.)"""

from django.contrib import admin
from django.http import HttpRequest

APP_ENTRY_NAMES = {"django_rq": "Filas de execução (rq)"}
MODEL_ENTRY_NAMES = {"django_rq.dashboard": "Painel das filas"}


class ConsoleAdminSite(admin.AdminSite):
    site_header = "Console de Operações — administração"
    site_title = "Console de Operações — administração"
    index_title = "Administração"
    site_url = "/painel/"
    # The index lists every entry already; the sidebar's 300 px are worth more to the lists
    # (the job list fits a 1280 px screen without scrolling sideways).
    enable_nav_sidebar = False
    empty_value_display = "—"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict]:
        apps = super().get_app_list(request, app_label)
        for app in apps:
            app["name"] = APP_ENTRY_NAMES.get(app["app_label"], app["name"])
            for entry in app["models"]:
                entry["name"] = MODEL_ENTRY_NAMES.get(entry["model"]._meta.label_lower, entry["name"])
            app["models"].sort(key=lambda entry: entry["name"])
        return sorted(apps, key=lambda app: app["name"].lower())

    def has_entries_for(self, request: HttpRequest) -> bool:
        """Whether `request.user` would find anything at all in the admin."""
        return self.has_permission(request) and bool(self.get_app_list(request))


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A record of what happened: viewed, never added, edited or deleted here, so its pages have
    no Save or Delete buttons. Actions that change something declare their own permission."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
