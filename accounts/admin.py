import json
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import format_html
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts import bots, selectors, services
from accounts.forms import AdminLoginForm, BotCreateForm, BotForm, IntegrationTokenIssueForm
from accounts.models import (
    BOT_SCOPES,
    Bot,
    BotEvent,
    BudgetAlert,
    IntegrationToken,
    IssuedJwt,
    LoginAttempt,
    ModelPrice,
    RevokedJwt,
    TokenUsage,
    UsageDaily,
    User,
)
from accounts.usage.services import usage_costs_recompute
from project.admin_site import PermissionLabelsMixin, ReadOnlyModelAdmin
from project.pagination import EstimatedCountPaginator

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
    fieldsets = (
        (None, {"fields": ("bot_id", "name", "owner", "team", "scopes", "is_active")}),
        ("Orçamento mensal", {
            "fields": ("budget_unit", "monthly_budget", "budget_warning_percent"),
            "description": "Mês do calendário, no fuso do console. Sem unidade, o bot não tem orçamento. "
                           "O consumo acima do orçamento continua registrado: o orçamento avisa, não bloqueia.",
        }),
        ("Credencial e atividade", {"fields": readonly_fields[1:]}),
    )
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


# --- Metering: prices, token usage, budget alerts and events of bots -----------------------------

PRICE_FIELDS = {"model", "valid_from", "input_per_million", "cached_input_per_million", "output_per_million",
                "reasoning_per_million"}


def decimal_text(value: Decimal) -> str:
    """`value` with the decimals it has (up to the stored ten, no trailing zeros), in the admin's locale."""
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return number_format(Decimal(text), use_l10n=True)


def usd(value: Decimal | None) -> str:
    return "—" if value is None else f"US$ {decimal_text(value)}"


def shortened(value: str, size: int = 16):
    """A long client-chosen id cut to `size` characters, with the whole of it on hover."""
    if not value:
        return "—"
    if len(value) <= size:
        return value
    return format_html('<span class="nowrap" title="{}">{}…</span>', value, value[:size])


def pretty_json(value) -> str:
    return format_html('<pre class="admin-json">{}</pre>', json.dumps(value, indent=2, ensure_ascii=False,
                                                                        sort_keys=True))


def next_price_start(model: str, after: datetime, *, exclude: int | None = None) -> datetime | None:
    """When the next price of `model` after `after` starts: the end of the period of a price."""
    prices = ModelPrice.objects.filter(model=model, valid_from__gt=after)
    if exclude is not None:
        prices = prices.exclude(pk=exclude)
    return prices.order_by("valid_from").values_list("valid_from", flat=True).first()


def open_end() -> datetime:
    # A record may say it happened up to USAGE_MAX_FUTURE_SECONDS ahead: "until now" includes it.
    return timezone.now() + timedelta(seconds=settings.USAGE_MAX_FUTURE_SECONDS)


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    """Prices per million tokens, each in force from `valid_from` to the next price of its model.

    Saving a price does not recompute the costs already recorded: it says how many records its
    period holds and how to recompute them. A period can hold hundreds of thousands of records,
    each read and written again, which is no work for a save button to do while the page waits;
    and rewriting past costs changes figures already reported and budgets already counted, so
    staff do it when the prices are right (often after more than one correction), with the action
    *Recalcular custos do período* or `manage.py usage_recompute_costs` (which the action names
    instead of running, for periods too large to recompute while a page waits)."""

    list_display = ("model", "starts", "valid_until", "input_price", "cached_input_price", "output_price",
                    "reasoning_price", "note")
    list_filter = ("model", "valid_from")
    search_fields = ("model", "note")
    fields = ("model", "valid_from", "input_per_million", "cached_input_per_million", "output_per_million",
              "reasoning_per_million", "note", "created_at")
    readonly_fields = ("created_at",)
    actions = ["recompute_period"]

    def get_queryset(self, request):
        following = ModelPrice.objects.filter(model=OuterRef("model"), valid_from__gt=OuterRef("valid_from"))
        return super().get_queryset(request).annotate(
            next_from=Subquery(following.order_by("valid_from").values("valid_from")[:1]))

    # Short headings, so that the list fits a 1280 px screen; the form keeps the long names.
    @admin.display(description="desde", ordering="valid_from")
    def starts(self, obj):
        return date_format(timezone.localtime(obj.valid_from), "DATETIME_FORMAT")

    @admin.display(description="até", ordering="next_from")
    def valid_until(self, obj):
        if obj.next_from is not None:
            return date_format(timezone.localtime(obj.next_from), "DATETIME_FORMAT")
        return "em vigor" if obj.valid_from <= timezone.now() else "—"

    @admin.display(description="entrada (US$/M)", ordering="input_per_million")
    def input_price(self, obj):
        return decimal_text(obj.input_per_million)

    @admin.display(description="cache (US$/M)", ordering="cached_input_per_million")
    def cached_input_price(self, obj):
        if obj.cached_input_per_million is None:
            return "= entrada"
        return decimal_text(obj.cached_input_per_million)

    @admin.display(description="saída (US$/M)", ordering="output_per_million")
    def output_price(self, obj):
        return decimal_text(obj.output_per_million)

    @admin.display(description="raciocínio (US$/M)", ordering="reasoning_per_million")
    def reasoning_price(self, obj):
        if obj.reasoning_per_million is None:
            return "= saída"
        return decimal_text(obj.reasoning_per_million)

    # About ten seconds of work at a million records: more than that waits on a page no longer.
    action_max_records = 20_000

    @admin.action(description="Recalcular custos do período", permissions=["change"])
    def recompute_period(self, request, queryset):
        """Price again the records of each selected price's model, from its start to the next price."""
        selected = [(price, price.next_from or open_end()) for price in queryset.order_by("model", "valid_from")]
        records = sum(TokenUsage.objects.filter(model=price.model, occurred_at__gte=price.valid_from,
                                                occurred_at__lt=end).count() for price, end in selected)
        if records > self.action_max_records:
            first = timezone.localtime(min(price.valid_from for price, _ in selected))
            last = timezone.localtime(max(end for _, end in selected))
            models = " ".join(f"--model {model}" for model in sorted({price.model for price, _ in selected}))
            self.message_user(
                request, f"Os períodos selecionados têm {records} registros de consumo, mais do que esta página "
                         f"recalcula enquanto espera ({self.action_max_records}). Rode no servidor: manage.py "
                         f"usage_recompute_costs --from {first:%Y-%m-%d} --to {last:%Y-%m-%d} {models}",
                messages.WARNING)
            return
        changed = 0
        periods = []
        for price, end in selected:
            changed += usage_costs_recompute(start=price.valid_from, end=end, models=[price.model])
            until = f"até {timezone.localtime(price.next_from):%d/%m/%Y %H:%M}" if price.next_from else "até agora"
            periods.append(f"{price.model} de {timezone.localtime(price.valid_from):%d/%m/%Y %H:%M} {until}")
        self.message_user(request, f"Custos recalculados ({'; '.join(periods)}): {changed} registro(s) de consumo "
                                   "mudaram.", messages.SUCCESS)

    def save_model(self, request, obj, form, change):
        before_model, before_from = form.initial.get("model"), form.initial.get("valid_from")
        super().save_model(request, obj, form, change)
        if change and not PRICE_FIELDS & set(form.changed_data):
            return
        models = {obj.model} | ({before_model} if change and before_model else set())
        starts = [obj.valid_from] + ([before_from] if change and before_from else [])
        self._recompute_hint(request, models=sorted(models), start=min(starts), latest=max(starts), price=obj,
                             own_period=not change or (before_model == obj.model and obj.valid_from <= before_from))

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        self._recompute_hint(request, models=[obj.model], start=obj.valid_from, latest=obj.valid_from)

    def delete_queryset(self, request, queryset):
        removed = list(queryset.values_list("model", "valid_from"))
        super().delete_queryset(request, queryset)
        for model, valid_from in removed:
            self._recompute_hint(request, models=[model], start=valid_from, latest=valid_from)

    def _recompute_hint(self, request, *, models: list[str], start: datetime, latest: datetime,
                        price: ModelPrice | None = None, own_period: bool = False) -> None:
        """Tell staff which recorded costs the change leaves behind, and how to recompute them."""
        ends = [next_price_start(model, latest) for model in models]
        end = min([e for e in ends if e is not None], default=None) or open_end()
        affected = TokenUsage.objects.filter(model__in=models, occurred_at__gte=start, occurred_at__lt=end).count()
        names = ", ".join(models)
        if not affected:
            self.message_user(request, f"Nenhum consumo de {names} registrado no período afetado: nada a recalcular.",
                              messages.INFO)
            return
        first = timezone.localtime(start)
        last = timezone.localtime(end - timedelta(microseconds=1))
        until = f"{last:%d/%m/%Y %H:%M}" if end < timezone.now() else "agora"
        command = (f"manage.py usage_recompute_costs --from {first:%Y-%m-%d} --to {last:%Y-%m-%d} "
                   + " ".join(f"--model {model}" for model in models))
        how = (f"selecione este preço na lista e use a ação “Recalcular custos do período”, ou rode {command}"
               if own_period and price is not None else f"rode {command}")
        self.message_user(
            request,
            f"{affected} registro(s) de consumo de {names} entre {first:%d/%m/%Y %H:%M} e {until} "
            f"mantêm o custo calculado antes desta mudança. Para recalculá-los, {how}.",
            messages.WARNING,
        )


class UsageModelFilter(admin.SimpleListFilter):
    """The models that have usage, from the daily sums (a few rows) rather than every record."""

    title = "modelo"
    parameter_name = "modelo"

    def lookups(self, request, model_admin):
        used = UsageDaily.objects.order_by("model").values_list("model", flat=True).distinct()
        return [(model, model) for model in used]

    def queryset(self, request, queryset):
        return queryset.filter(model=self.value()) if self.value() else queryset


class PricedFilter(admin.SimpleListFilter):
    title = "preço"
    parameter_name = "preco"

    def lookups(self, request, model_admin):
        return [("com", "com preço"), ("sem", "sem preço")]

    def queryset(self, request, queryset):
        if self.value() == "com":
            return queryset.filter(cost__isnull=False)
        if self.value() == "sem":
            return queryset.filter(cost__isnull=True)
        return queryset


class OccurredFilter(admin.DateFieldListFilter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.title = "data"


class BotNameMixin:
    @admin.display(description="bot", ordering="bot__name")
    def bot_name(self, obj):
        return format_html('<span title="{}">{}</span>', obj.bot.bot_id, obj.bot.name)


@admin.register(TokenUsage)
class TokenUsageAdmin(BotNameMixin, ReadOnlyModelAdmin):
    """Every LLM call the bots reported, as they reported it. Built for a table of millions of
    rows: no exact count of the whole table on each page, filters whose choices come from small
    tables, searches by exact id, and no date hierarchy (its links scan every record)."""

    class Media:
        css = {"all": ["css/admin.css"]}

    list_display = ("occurred_at", "bot_name", "model", "prompt", "completion", "total", "cost_usd",
                    "short_request_id", "short_conversation")
    list_filter = ("bot", UsageModelFilter, PricedFilter, ("occurred_at", OccurredFilter))
    search_fields = ("request_id__exact", "conversation_id__exact")
    search_help_text = "O id da requisição (request_id) ou da conversa (conversation_id), exatos."
    list_select_related = ("bot",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fields = ("bot", "model", "occurred_at", "received_at", "prompt_tokens", "cached_tokens", "completion_tokens",
              "reasoning_tokens", "total_tokens", "cost_usd", "price", "request_id", "conversation_id",
              "metadata_pretty")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("bot", "price")

    def get_search_results(self, request, queryset, search_term):
        """The exact request_id or conversation_id, each found through its index. request_id's
        index is unique per bot, (bot, request_id): naming the bots (a few dozen) lets PostgreSQL
        probe it, where `request_id = …` alone reads the whole table."""
        term = search_term.strip()
        if not term:
            return queryset, False
        bot_ids = list(Bot.objects.values_list("pk", flat=True))
        return queryset.filter(Q(conversation_id=term) | Q(bot_id__in=bot_ids, request_id=term)), False

    @admin.display(description="entrada", ordering="prompt_tokens")
    def prompt(self, obj):
        return obj.prompt_tokens

    @admin.display(description="saída", ordering="completion_tokens")
    def completion(self, obj):
        return obj.completion_tokens

    @admin.display(description="total", ordering="total_tokens")
    def total(self, obj):
        return obj.total_tokens

    @admin.display(description="custo (USD)", ordering="cost")
    def cost_usd(self, obj):
        if obj.cost is None:
            return format_html('<strong class="usage-unpriced nowrap" title="{}">sem preço</strong>',
                               f"O modelo {obj.model} não tinha preço em vigor quando o consumo ocorreu.")
        return decimal_text(obj.cost)

    @admin.display(description="id da requisição", ordering="request_id")
    def short_request_id(self, obj):
        return shortened(obj.request_id or "")

    @admin.display(description="conversa", ordering="conversation_id")
    def short_conversation(self, obj):
        return shortened(obj.conversation_id)

    @admin.display(description="metadados")
    def metadata_pretty(self, obj):
        return pretty_json(obj.metadata) if obj.metadata else "—"


class EventTypeFilter(admin.SimpleListFilter):
    title = "tipo de evento"
    parameter_name = "evento"
    max_choices = 100

    def lookups(self, request, model_admin):
        names = BotEvent.objects.order_by("event").values_list("event", flat=True).distinct()[:self.max_choices]
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


@admin.register(BotEvent)
class BotEventAdmin(BotNameMixin, ReadOnlyModelAdmin):
    """What the bots sent to the dashboard (seed 001), newest first; the payload in full on its page."""

    class Media:
        css = {"all": ["css/admin.css"]}

    list_display = ("received_at", "bot_name", "event", "short_event_id", "user_ref", "order_ref", "occurred_at")
    list_filter = ("bot", EventTypeFilter, "received_at")
    search_fields = ("event_id__exact", "user_ref__exact", "order_ref__exact")
    search_help_text = "O id do evento, o usuário (payload.userId) ou o pedido (payload.orderId), exatos."
    list_select_related = ("bot",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    fields = ("bot", "event", "event_id", "occurred_at", "received_at", "user_ref", "order_ref", "payload_pretty",
              "extra_pretty")
    readonly_fields = fields

    @admin.display(description="id do evento", ordering="event_id")
    def short_event_id(self, obj):
        return shortened(obj.event_id or "")

    @admin.display(description="payload")
    def payload_pretty(self, obj):
        return pretty_json(obj.payload)

    @admin.display(description="campos extras")
    def extra_pretty(self, obj):
        return pretty_json(obj.extra) if obj.extra else "—"


@admin.register(BudgetAlert)
class BudgetAlertAdmin(BotNameMixin, ReadOnlyModelAdmin):
    list_display = ("created_at", "bot_name", "month_label", "level", "used_amount", "budget_amount")
    list_filter = ("level", "unit", "bot", "month")
    search_fields = ("bot__name", "bot__bot_id")
    list_select_related = ("bot",)
    fields = ("bot", "month_label", "level", "unit", "used_amount", "budget_amount", "created_at")
    readonly_fields = fields

    @admin.display(description="mês", ordering="month")
    def month_label(self, obj):
        return f"{obj.month:%m/%Y}"

    @admin.display(description="usado", ordering="used")
    def used_amount(self, obj):
        return self._amount(obj.used, obj.unit)

    @admin.display(description="orçamento", ordering="budget")
    def budget_amount(self, obj):
        return self._amount(obj.budget, obj.unit)

    @staticmethod
    def _amount(value: Decimal, unit: str) -> str:
        if unit == "tokens":
            return f"{number_format(int(value), use_l10n=True, force_grouping=True)} tokens"
        return usd(value)


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
