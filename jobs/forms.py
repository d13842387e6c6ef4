from django import forms

from jobs.kinds import ALL_KINDS
from jobs.models import JobStatus

# The failure categories a job may end with (jobs.automation, the maintenance pass, account lines),
# as the pages name them.
ERROR_CATEGORIES = {
    "auth": "Autenticação",
    "navigation": "Navegação",
    "timeout": "Tempo esgotado",
    "file": "Arquivo",
    "config": "Configuração",
    "browser": "Navegador perdido",
    "busy": "Conta ocupada",
    "worker": "Worker parou",
    "queue": "Fila",
    "internal": "Erro interno",
}


class JobFilterForm(forms.Form):
    """The jobs list's filters and search; names match selectors.job_list's arguments."""

    search = forms.CharField(
        label="Buscar", required=False, max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "id, filtro, CNPJ ou processo"}),
    )
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Todos"), *JobStatus.choices])
    kind = forms.ChoiceField(label="Operadora", required=False, choices=[("", "Todas"), *((k, k) for k in ALL_KINDS)])
    error_category = forms.ChoiceField(
        label="Motivo da falha", required=False, choices=[("", "Todos"), *ERROR_CATEGORIES.items()],
    )
    created_from = forms.DateField(label="De", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Até", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    finished_within_hours = forms.TypedChoiceField(
        label="Terminados", required=False, coerce=int, empty_value=None,
        choices=[("", "Qualquer data"), ("24", "Últimas 24 h")],
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("created_from"), cleaned.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", "A data final é anterior à inicial.")
        return cleaned

    def criteria(self) -> dict:
        """The valid filters, ready for selectors.job_list (a bad one is named on the page and left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in getattr(self, "cleaned_data", {}).items() if value}


class RetryCredentialsForm(forms.Form):
    """New portal credentials for retrying a job the portal refused to log in."""

    login = forms.CharField(
        label="Login no portal", required=False, max_length=255,
        help_text="Deixe em branco para manter o login do job.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    senha = forms.CharField(
        label="Nova senha", max_length=255, strip=False,
        error_messages={"required": "Informe a nova senha do portal."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
