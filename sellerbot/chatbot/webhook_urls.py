"""Seed 004's webhook paths under /seller-bot/webhook/ (no trailing slash)."""

urlpatterns: list = []
