"""The bots' dashboard pages, under /painel/ next to the jobs' (one namespace, `dashboard`)."""

from django.urls import path

from accounts.bot_events import views as event_views
from accounts.usage import views as usage_views

dashboard_urlpatterns = [
    path("consumo/", usage_views.usage_dashboard, name="usage"),
    path("eventos/", event_views.event_list, name="events"),
]
