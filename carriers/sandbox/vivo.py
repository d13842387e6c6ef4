"""Sandbox of the VIVO portal (to be built)."""

urlpatterns: list = []
