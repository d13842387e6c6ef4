"""Websocket routes of the jobs app."""

websocket_urlpatterns: list = []
