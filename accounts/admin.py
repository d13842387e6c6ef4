from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import bots, selectors, services
from accounts.forms import AdminLoginForm, BotCreateForm, BotForm, IntegrationTokenIssueForm
from accounts.models import BOT_SCOPES, Bot, IntegrationToken, IssuedJwt, LoginAttempt, RevokedJwt, User
from project.admin_site import PermissionLabelsMixin, ReadOnlyModelAdmin

# The admin login says so when a login is locked out (django-axes).
admin.site.login_form = AdminLoginForm


class LastAttemptFilter(admin.DateFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "última tentativa"


class RouteFilter(admin.AllValuesFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "rota"


@admin.register(User)
class UserAdmin(PermissionLabelsMixin, BaseUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_staff", "is_active", "last_login")


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionLabelsMixin, BaseGroupAdmin):
    pass


class CredentialPagesMixin:
    """The two admin pages of a credential issued once: its form, then the page that shows it
    (never cached: it holds a live credential). Templates live in admin/accounts/<model>/."""

    def _render(self, request, template: str, title: str, context: dict) -> TemplateResponse:
        return TemplateResponse(request, f"admin/accounts/{self.opts.model_name}/{template}", {
            **self.admin_site.each_context(request), "opts": self.opts, "title": title, **context,
        })

    def _render_issued(self, request, title: str, context: dict) -> TemplateResponse:
        response = self._render(request, "issued.html", title, context)
        response["Cache-Control"] = "no-store"
        return response


@admin.register(IntegrationToken)
class IntegrationTokenAdmin(CredentialPagesMixin, admin.ModelAdmin):
    """Long-lived tokens for integrations. "Adicionar" issues one: the token is shown on that one
    page and never again; only its jti is kept."""

    list_display = ("user", "label", "short_jti", "created_at", "expires_at", "revoked_at", "active")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__username", "label", "jti")
    readonly_fields = ("jti", "user", "created_at", "expires_at", "revoked_at")
    actions = ["revoke"]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IntegrationTokenIssueForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            token, record = services.integration_token_issue(
                user=form.cleaned_data["user"], days=form.cleaned_data["days"], label=form.cleaned_data["label"],
            )
            self.log_addition(request, record, [{"added": {}}])
            return self._render_issued(request, "Token de integração emitido", {"token": token, "record": record})
        return self._render(request, "issue.html", "Emitir token de integração", {"form": form})

    @admin.display(description="identificador (jti)", ordering="jti")
    def short_jti(self, obj):
        return obj.jti[:12] + "…"

    @admin.display(boolean=True, description="ativo")
    def active(self, obj):
        return obj.is_active

    @admin.action(description="Revogar os tokens selecionados", permissions=["change"])
    def revoke(self, request, queryset):
        count = sum(services.integration_token_revoke(jti=t.jti) for t in queryset)
        self.message_user(request, f"{count} token(s) revogado(s).")


class BotScopeFilter(admin.SimpleListFilter):
    title = "escopo"
    parameter_name = "escopo"

    def lookups(self, request, model_admin):
        return [(scope, scope) for scope in BOT_SCOPES]

    def queryset(self, request, queryset):
        if self.value() in BOT_SCOPES:
            # JSON containment is not on SQLite; the scope names cannot be confused inside the list.
            return queryset.filter(scopes__icontains=f'"{self.value()}"')
        return queryset


@admin.register(Bot)
class BotAdmin(CredentialPagesMixin, admin.ModelAdmin):
    """Machine credentials. "Adicionar" creates a bot and shows its token on that one page; the
    rotate action shows the new tokens the same way. Only hashes are kept."""

    form = BotForm
    list_display = ("name", "bot_id", "owner", "team", "scope_list", "is_active", "last_seen_at",
                    "last_seen_address", "created_at")
    list_filter = ("is_active", BotScopeFilter, "last_seen_at", "created_at")
    search_fields = ("name", "bot_id", "team", "owner__username")
    list_select_related = ("owner",)
    readonly_fields = ("bot_id", "last_seen_at", "last_seen_address", "token_rotated_at",
                       "previous_token_expires_at", "created_at", "updated_at")
    fields = ("bot_id", "name", "owner", "team", "scopes", "is_active", *readonly_fields[1:])
    actions = ["rotate", "disable"]

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = BotCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            issued = bots.bot_create(name=data["name"], scopes=data["scopes"], owner=data["owner"],
                                     team=data["team"])
            self.log_addition(request, issued.bot, [{"added": {}}])
            return self._render_issued(request, "Bot criado", {"issued": [issued]})
        return self._render(request, "issue.html", "Criar bot", {"form": form})

    @admin.display(description="escopos")
    def scope_list(self, obj) -> str:
        return ", ".join(obj.scopes or []) or "—"

    @admin.action(description="Trocar o token dos bots selecionados (o anterior vale até o fim da carência)",
                  permissions=["change"])
    def rotate(self, request, queryset):
        issued = [bots.bot_rotate(bot=bot) for bot in queryset]
        for item in issued:
            self.log_change(request, item.bot, "Token trocado.")
        return self._render_issued(request, "Tokens trocados", {"issued": issued})

    @admin.action(description="Desativar os bots selecionados", permissions=["change"])
    def disable(self, request, queryset):
        count = 0
        for bot in queryset.filter(is_active=True):
            bots.bot_disable(bot=bot)
            self.log_change(request, bot, "Bot desativado.")
            count += 1
        self.message_user(request, f"{count} bot(s) desativado(s).")


@admin.register(LoginAttempt)
class LoginAttemptAdmin(admin.ModelAdmin):
    """Failed logins and the lock-outs they cause; "Desbloquear" lifts one. The form data axes
    keeps with an attempt is not shown (passwords are masked in it, but it is not needed)."""

    list_display = ("username", "address", "failures", "locked", "last_attempt", "route")
    list_display_links = None
    list_filter = (("attempt_time", LastAttemptFilter), ("path_info", RouteFilter))
    search_fields = ("username", "ip_address", "user_agent")
    actions = ["unlock"]

    def get_queryset(self, request):
        return selectors.login_attempts_with_lockout(super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="endereço", ordering="ip_address")
    def address(self, obj) -> str:
        return obj.ip_address or "—"

    @admin.display(description="falhas", ordering="failures_since_start")
    def failures(self, obj) -> int:
        return obj.failures_since_start

    @admin.display(boolean=True, description="bloqueado agora", ordering="locked")
    def locked(self, obj) -> bool:
        return obj.locked

    @admin.display(description="última tentativa", ordering="attempt_time")
    def last_attempt(self, obj):
        return obj.attempt_time

    @admin.display(description="rota", ordering="path_info")
    def route(self, obj) -> str:
        return obj.path_info

    @admin.action(description="Desbloquear o usuário e o endereço das tentativas selecionadas",
                  permissions=["delete"])
    def unlock(self, request, queryset):
        removed = sum(
            services.login_lockout_lift(username=attempt.username, ip_address=attempt.ip_address)
            for attempt in queryset
        )
        self.message_user(request, f"Login liberado: {removed} registro(s) de tentativas apagado(s).")


# simplejwt's own admin shows each refresh token in full: a live credential. Its records are
# shown here instead, through proxies with Portuguese names, without the token.
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(IssuedJwt)
class IssuedJwtAdmin(ReadOnlyModelAdmin):
    list_display = ("token_id", "person", "issued_at", "expires", "revoked")
    fields = readonly_fields = ("token_id", "person", "issued_at", "expires", "revoked")
    search_fields = ("user__username", "jti")
    list_select_related = ("user", "blacklistedtoken")

    @admin.display(description="identificador (jti)", ordering="jti")
    def token_id(self, obj):
        return obj.jti

    @admin.display(description="usuário", ordering="user")
    def person(self, obj):
        return obj.user

    @admin.display(description="emitido em", ordering="created_at")
    def issued_at(self, obj):
        return obj.created_at

    @admin.display(description="expira em", ordering="expires_at")
    def expires(self, obj):
        return obj.expires_at

    @admin.display(boolean=True, description="revogado")
    def revoked(self, obj):
        return hasattr(obj, "blacklistedtoken")


@admin.register(RevokedJwt)
class RevokedJwtAdmin(ReadOnlyModelAdmin):
    list_display = ("token_id", "person", "revoked_at")
    fields = readonly_fields = ("token_id", "person", "revoked_at")
    search_fields = ("token__user__username", "token__jti")
    list_select_related = ("token__user",)

    @admin.display(description="identificador (jti)", ordering="token__jti")
    def token_id(self, obj):
        return obj.token.jti

    @admin.display(description="usuário", ordering="token__user")
    def person(self, obj):
        return obj.token.user

    @admin.display(description="revogado em", ordering="blacklisted_at")
    def revoked_at(self, obj):
        return obj.blacklisted_at
