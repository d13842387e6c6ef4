"""The events page (/painel/eventos/): what the bots sent, newest first, and what became of
everything each bot sent (accepted, repeated, refused, keyless), so that a silent drop shows.

The page follows the `bots` stream of /ws/notifications (static/js/live.js) and fetches the rows
of the events it learns of from this same view (?parte=linhas&ids=…); after a reconnection, or
while it polls, it fetches the first page's rows again. Staff with `accounts.view_botevent` only.
"""

import json

from django import forms
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.bot_events import selectors
from accounts.models import Bot
from accounts.usage.selectors import intake_counts_by_bot
from jobs.views import permission, staff_required
from project.pagination import EstimatedCountPaginator

EVENT_PERMISSION = "accounts.view_botevent"
PAGE_SIZE = 25
LIVE_ROWS_MAX = 100  # ids one request may ask rows for
PAYLOAD_PREVIEW = 160


class EventFilterForm(forms.Form):
    """The events page's filters; names as the page's query string has them."""

    bot = forms.ChoiceField(label="Bot", required=False)
    evento = forms.CharField(label="Tipo de evento", required=False, max_length=100,
                             widget=forms.TextInput(attrs={"list": "event-types", "placeholder": "todos",
                                                           "autocomplete": "off"}))

    def __init__(self, *args, bots: list[Bot], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bot"].choices = [("", "Todos"), *((bot.bot_id, bot.name) for bot in bots)]
        self.fields["bot"].error_messages["invalid_choice"] = "Bot desconhecido: escolha um da lista."

    def criteria(self) -> dict:
        """bot_id and event for selectors.bot_event_list (a bad value is named and left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        cleaned = getattr(self, "cleaned_data", {})
        return {"bot_id": cleaned.get("bot") or None, "event": (cleaned.get("evento") or "").strip() or None}


@staff_required
@permission(EVENT_PERMISSION)
@require_GET
def event_list(request):
    filters = EventFilterForm(request.GET or None, bots=list(Bot.objects.order_by("name")))
    events = selectors.bot_event_list(**filters.criteria())
    part = request.GET.get("parte")
    if part == "contagens":
        return render(request, "dashboard/_intake_counts.html", {"intake": intake_counts_by_bot()})
    if part == "linhas" and request.GET.get("ids") is not None:
        return _live_rows(request, events)
    page = EstimatedCountPaginator(events, PAGE_SIZE).get_page(request.GET.get("pagina"))
    page.object_list = list(page.object_list)
    _with_payload_text(page.object_list)
    context = {"filters": filters, "page": page, "events": page.object_list, "query": _query_without_page(request),
               "nav": "events"}
    if part == "linhas":
        return render(request, "dashboard/_event_rows.html", context)
    context.update(intake=intake_counts_by_bot(), event_types=selectors.bot_event_types_recent())
    return render(request, "dashboard/events.html", context)


def _live_rows(request, events):
    """The rows of the events of ?ids= that the page's filters keep, newest first; 204 for none."""
    try:
        ids = [int(value) for value in request.GET["ids"].split(",") if value][:LIVE_ROWS_MAX]
    except ValueError:
        return HttpResponse("ids deve ser uma lista de ids (inteiros) separados por vírgula.", status=400,
                            content_type="text/plain; charset=utf-8")
    rows = list(events.filter(pk__in=ids))
    if not rows:
        return HttpResponse(status=204)
    _with_payload_text(rows)
    return render(request, "dashboard/_event_rows.html", {"events": rows})


def _with_payload_text(events) -> None:
    for event in events:
        text = json.dumps(event.payload, ensure_ascii=False, separators=(", ", ": "))
        event.payload_text = text if len(text) <= PAYLOAD_PREVIEW else text[:PAYLOAD_PREVIEW - 1] + "…"
        event.payload_full = text[:2000]


def _query_without_page(request) -> str:
    query = request.GET.copy()
    for name in ("pagina", "parte", "ids"):
        query.pop(name, None)
    return query.urlencode()
