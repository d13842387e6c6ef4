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
    """A bot's editable facts; its scopes as checkboxes from the fixed set."""

    scopes = forms.MultipleChoiceField(
        label="escopos", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(scope, f"{scope} — {description}") for scope, description in BOT_SCOPES.items()],
    )

    class Meta:
        model = Bot
        fields = ["name", "owner", "team", "scopes", "is_active"]

    def clean_scopes(self) -> list[str]:
        return [scope for scope in BOT_SCOPES if scope in self.cleaned_data["scopes"]]


class BotCreateForm(BotForm):
    class Meta(BotForm.Meta):
        fields = ["name", "owner", "team", "scopes"]
