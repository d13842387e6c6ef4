"""Websocket routes of the jobs app."""

from django.urls import path

from jobs.consumers import NotificationsConsumer

websocket_urlpatterns = [
    path("ws/notifications", NotificationsConsumer.as_asgi()),
]
