"""Sandbox of the SAT portal (to be built)."""

urlpatterns: list = []
