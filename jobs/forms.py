from django import forms

from jobs.kinds import ALL_KINDS
from jobs.models import JobStatus


class JobFilterForm(forms.Form):
    """The jobs list's filters; names match selectors.job_list's arguments."""

    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Todos"), *JobStatus.choices])
    kind = forms.ChoiceField(label="Operadora", required=False, choices=[("", "Todas"), *((k, k) for k in ALL_KINDS)])
    created_from = forms.DateField(label="De", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(label="Até", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    finished_within_hours = forms.TypedChoiceField(
        label="Terminados", required=False, coerce=int, empty_value=None,
        choices=[("", "Em qualquer data"), ("24", "Nas últimas 24 h")],
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
