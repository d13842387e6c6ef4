"""The admin's and the staff pages' forms: the logins, which say so when a login is locked out
(django-axes), and the integration token the admin issues."""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import BOT_SCOPES, Bot, User

MAX_TOKEN_DAYS = 3650


class LockoutAwareLoginMixin:
    """Replace "wrong username or password" with the lock-out and when it ends, when that is
    why the login was refused; `locked_out` tells the page to answer 429."""

    locked_out = False

    def get_invalid_login_error(self) -> ValidationError:
        try:
            services.login_lockout_check(request=self.request)
        except services.LoginLocked as locked:
            self.locked_out = True
            return ValidationError(str(locked), code="locked_out")
        return super().get_invalid_login_error()


class StaffLoginForm(LockoutAwareLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutAwareLoginMixin, AdminAuthenticationForm):
    pass


class IntegrationTokenIssueForm(forms.Form):
    """What the admin asks before issuing an integration token."""

    user = forms.ModelChoiceField(
        label="Usuário", queryset=User.objects.filter(is_active=True).order_by("username"),
        help_text="A integração age em nome desta pessoa e vê o que ela vê.",
    )
    label = forms.CharField(
        label="Descrição", max_length=100,
        help_text="Para que serve o token (ex.: “frontend de faturas”), para reconhecê-lo ao revogar.",
    )
    days = forms.IntegerField(
        label="Validade (dias)", min_value=1, max_value=MAX_TOKEN_DAYS,
        initial=lambda: settings.INTEGRATION_TOKEN_DAYS,
    )


class BotForm(forms.ModelForm):
    """A bot's editable facts; its scopes as checkboxes from the fixed set, and its monthly
    budget, whose unit and amount come together or not at all."""

    scopes = forms.MultipleChoiceField(
        label="escopos", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(scope, f"{scope} — {description}") for scope, description in BOT_SCOPES.items()],
    )

    class Meta:
        model = Bot
        fields = ["name", "owner", "team", "scopes", "is_active", "budget_unit", "monthly_budget",
                  "budget_warning_percent"]
        help_texts = {"monthly_budget": "Em tokens (entrada + saída) ou em USD, conforme a unidade."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        amount = self.initial.get("monthly_budget")
        if amount is not None and "." in f"{amount:f}":  # 50, not the column's 50.000000
            self.initial["monthly_budget"] = f"{amount:f}".rstrip("0").rstrip(".")

    def clean_scopes(self) -> list[str]:
        return [scope for scope in BOT_SCOPES if scope in self.cleaned_data["scopes"]]

    def clean(self) -> dict:
        data = super().clean()
        if "budget_unit" not in data or "monthly_budget" not in data:
            return data  # a field error already says what is wrong
        unit, amount = data["budget_unit"], data["monthly_budget"]
        if unit and amount is None:
            self.add_error("monthly_budget", "Informe o orçamento mensal na unidade escolhida, ou deixe a unidade "
                                             "em branco para o bot não ter orçamento.")
        elif amount is not None and not unit:
            self.add_error("budget_unit", "Escolha a unidade do orçamento (tokens ou custo em USD), ou apague o "
                                          "valor para o bot não ter orçamento.")
        return data


class BotCreateForm(BotForm):
    """A new bot: its budget is set afterwards, on its change page."""

    class Meta(BotForm.Meta):
        fields = ["name", "owner", "team", "scopes"]
