"""The console's admin site: its own titles, Portuguese names where the admin shows other packages'
apps, models and permissions, and a base class for admin pages that only show what happened.

Other packages are renamed here, where the admin shows them: django-rq's and simplejwt's names
cannot change without migrations inside their packages, and Django writes every permission's
name in English ("Can view job") when it creates it. (simplejwt's token records are shown
through proxies in accounts.)"""

from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.http import HttpRequest

APP_NAMES = {
    "axes": "Bloqueio de logins (axes)",
    "django_rq": "Filas de execução (rq)",
    "token_blacklist": "Tokens JWT",
}
MODEL_NAMES = {  # singular, plural
    "axes.accessattempt": ("tentativa de login", "tentativas de login"),
    "axes.accessattemptexpiration": ("validade de tentativa de login", "validades de tentativas de login"),
    "axes.accessfailurelog": ("registro de falha de login", "registro de falhas de login"),
    "axes.accesslog": ("registro de acesso", "registro de acessos"),
    "django_rq.dashboard": ("painel das filas", "painel das filas"),
    "token_blacklist.outstandingtoken": ("token JWT emitido", "tokens JWT emitidos"),
    "token_blacklist.blacklistedtoken": ("token JWT revogado", "tokens JWT revogados"),
}
PERMISSION_ACTIONS = {"add": "adicionar", "change": "alterar", "delete": "excluir", "view": "ver"}
CUSTOM_PERMISSION_NAMES = {"django_rq.admin": "Pode abrir o painel das filas"}


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
        app_list = super().get_app_list(request, app_label)
        for app in app_list:
            app["name"] = APP_NAMES.get(app["app_label"], app["name"])
            for entry in app["models"]:
                label = entry["model"]._meta.label_lower
                if label in MODEL_NAMES:
                    entry["name"] = MODEL_NAMES[label][1].capitalize()
            app["models"].sort(key=lambda entry: entry["name"])
        return sorted(app_list, key=lambda app: app["name"].lower())

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


class PermissionLabelsMixin:
    """For ModelAdmins with a permissions widget (groups, users): each permission in Portuguese."""

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label
        return field


def permission_label(permission: Permission) -> str:
    """"Jobs de automação | job | Pode ver job" for what Django calls "… | Can view job"."""
    content_type = permission.content_type
    model_name = _model_name(content_type)
    action, _, model = permission.codename.partition("_")
    name = CUSTOM_PERMISSION_NAMES.get(f"{content_type.app_label}.{permission.codename}")
    if name is None and action in PERMISSION_ACTIONS and model == content_type.model:
        name = f"Pode {PERMISSION_ACTIONS[action]} {model_name}"
    return f"{_app_name(content_type.app_label)} | {model_name} | {name or permission.name}"


def _app_name(app_label: str) -> str:
    if app_label in APP_NAMES:
        return APP_NAMES[app_label]
    try:
        return str(apps.get_app_config(app_label).verbose_name)
    except LookupError:  # a permission left behind by an app no longer installed
        return app_label


def _model_name(content_type) -> str:
    label = f"{content_type.app_label}.{content_type.model}"
    if label in MODEL_NAMES:
        return MODEL_NAMES[label][0]
    model = content_type.model_class()
    return str(model._meta.verbose_name) if model else content_type.model
