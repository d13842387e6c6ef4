"""Sandbox of the DIGITALNET portal (to be built)."""

urlpatterns: list = []
