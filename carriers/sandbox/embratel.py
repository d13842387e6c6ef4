"""Sandbox of the EMBRATEL portal (to be built)."""

urlpatterns: list = []
