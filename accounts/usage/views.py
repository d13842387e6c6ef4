"""The usage dashboard (/painel/consumo/): tokens and cost of a period by day, bot, model and
conversation, the bots' monthly budgets and this month's budget alerts.

It reads the daily rollups only (accounts.usage.selectors), so it stays fast however many usage
records there are; the CSV export (the usage API's, same filters) is what reads the records.
Staff with the `accounts.view_tokenusage` permission only.
"""

from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.models import Bot
from accounts.usage import selectors
from jobs.views import permission, staff_required

USAGE_PERMISSION = "accounts.view_tokenusage"
DEFAULT_DAYS = 30
MAX_DAYS = 366
CHART_HEIGHT = 160
# The width of the page's card at 1280 px over the chart's height: the drawing fills the card
# whatever the number of days, and its text keeps one size.
CHART_WIDTH = 990
CHART_BAR_MAX = 28
CHART_LABELS = 10  # at most, along the axis


class UsageFilterForm(forms.Form):
    """The page's period (local dates in TIME_ZONE, the last 30 days by default), bot and model."""

    de = forms.DateField(label="De", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    ate = forms.DateField(label="Até", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    bot = forms.ChoiceField(label="Bot", required=False)
    modelo = forms.ChoiceField(label="Modelo", required=False)

    def __init__(self, *args, bots: list[Bot], models: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.bots = {bot.bot_id: bot for bot in bots}
        self.fields["bot"].choices = [("", "Todos"), *((bot.bot_id, bot.name) for bot in bots)]
        self.fields["modelo"].choices = [("", "Todos"), *((model, model) for model in models)]
        self.fields["bot"].error_messages["invalid_choice"] = "Bot desconhecido: escolha um da lista."
        self.fields["modelo"].error_messages["invalid_choice"] = "Nenhum consumo deste modelo: escolha um da lista."

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("de"), cleaned.get("ate")
        if start and end and start > end:
            self.add_error("ate", "A data final é anterior à inicial.")
        elif start and end and (end - start).days + 1 > MAX_DAYS:
            self.add_error("ate", f"Escolha um período de até {MAX_DAYS} dias.")
        return cleaned

    def criteria(self) -> dict:
        """start, end, bot and model for the selectors; a bad value is named on the page and the
        default taken instead."""
        values = {}
        if self.is_bound:
            self.is_valid()
            values = dict(self.cleaned_data)
            if "de" in self.errors or "ate" in self.errors:  # half a bad range is no period either
                values.pop("de", None)
                values.pop("ate", None)
        start, end = _period(values.get("de"), values.get("ate"))
        return {"start": start, "end": end, "bot": self.bots.get(values.get("bot") or ""),
                "model": values.get("modelo") or None}


@staff_required
@permission(USAGE_PERMISSION)
@require_GET
def usage_dashboard(request):
    filters = UsageFilterForm(request.GET or None, bots=list(Bot.objects.order_by("name")),
                              models=selectors.usage_models_list())
    criteria = filters.criteria()
    if request.GET.get("parte") == "conversas":
        conversations = selectors.usage_top_conversations(start=criteria["start"], end=criteria["end"],
                                                          bot=criteria["bot"])
        return render(request, "dashboard/_usage_conversations.html",
                      {"conversations": conversations, "criteria": criteria})
    _show_period(filters, criteria)
    dashboard = selectors.usage_dashboard_get(**criteria)
    query = _query(request)
    context = {
        "filters": filters, "dashboard": dashboard, "criteria": criteria, "query": query, "nav": "usage",
        "chart": _daily_chart(dashboard.per_day), "export_url": _export_url(criteria),
        "days": (criteria["end"] - criteria["start"]).days + 1,
    }
    if request.GET.get("parte") == "numeros":  # redrawn live when a budget alert arrives
        return render(request, "dashboard/_usage_figures.html", context)
    return render(request, "dashboard/usage.html", context)


def _show_period(filters: UsageFilterForm, criteria: dict) -> None:
    """Fill the date fields with the period shown, unless they hold a bad value to correct."""
    shown = {"de": criteria["start"].isoformat(), "ate": criteria["end"].isoformat()}
    if not filters.is_bound:
        filters.initial.update(shown)
    elif "de" not in filters.errors and "ate" not in filters.errors:
        filters.data = filters.data.copy()
        filters.data.update(shown)


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    today = timezone.localdate()
    if start and end:
        return start, end
    if start:
        return start, min(max(start, today), start + timedelta(days=MAX_DAYS - 1))
    end = end or today
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def _query(request) -> str:
    query = request.GET.copy()
    query.pop("parte", None)
    return query.urlencode()


def _export_url(criteria: dict) -> str:
    """The usage API's CSV export (the session opens it too), with the page's filters."""
    params = {"from": criteria["start"].isoformat(), "to": criteria["end"].isoformat()}
    if criteria["bot"] is not None:
        params["bot"] = criteria["bot"].bot_id
    if criteria["model"]:
        params["model"] = criteria["model"]
    return f"{reverse('v1-usage-export')}?{urlencode(params)}"


def _daily_chart(per_day: list[dict]) -> dict:
    """Bars of tokens per day and a line of cost per day, each on its own scale (SVG units)."""
    token_peak = max((day["total_tokens"] for day in per_day), default=0) or 1
    cost_peak = max((day["cost"] for day in per_day), default=Decimal(0)) or Decimal(1)
    usable = CHART_HEIGHT - 12
    every = max(1, -(-len(per_day) // CHART_LABELS))
    step = CHART_WIDTH / max(1, len(per_day))
    bar = round(min(CHART_BAR_MAX, step * 0.64), 1)
    bars, points = [], []
    for index, day in enumerate(per_day):
        centre = round(index * step + step / 2, 1)
        height = round(day["total_tokens"] / token_peak * usable, 1)
        cost_y = round(CHART_HEIGHT - float(day["cost"] / cost_peak) * usable, 1)
        points.append(f"{centre},{cost_y}")
        bars.append({"x": round(centre - bar / 2, 1), "y": round(CHART_HEIGHT - height, 1), "height": height,
                     "width": bar, "centre": centre,
                     "cost_y": cost_y, "day": day["day"], "total_tokens": day["total_tokens"], "cost": day["cost"],
                     "records": day["records"], "unpriced": day["unpriced_records"],
                     "label": (len(per_day) - 1 - index) % every == 0,
                     # The last day's label ends at its bar, inside the drawing.
                     "anchor": "end" if index == len(per_day) - 1 and len(per_day) > 1 else "middle",
                     "label_x": round(centre + bar / 2, 1) if index == len(per_day) - 1 else centre})
    return {"bars": bars, "points": " ".join(points), "height": CHART_HEIGHT, "width": CHART_WIDTH,
            "token_peak": token_peak if any(day["total_tokens"] for day in per_day) else 0,
            "cost_peak": max((day["cost"] for day in per_day), default=Decimal(0)),
            "priced": any(day["cost"] for day in per_day)}
