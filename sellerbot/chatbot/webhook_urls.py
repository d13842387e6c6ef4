"""Seed 004's webhook paths under /seller-bot/webhook/ (no trailing slash)."""

from django.urls import path

from sellerbot.chatbot import webhooks

urlpatterns = [
    path("chatwoot", webhooks.ChatwootWebhook.as_view(), name="seller-bot-webhook-chatwoot"),
    path("evolution", webhooks.EvolutionWebhook.as_view(), name="seller-bot-webhook-evolution"),
    path("instagram", webhooks.InstagramWebhook.as_view(), name="seller-bot-webhook-instagram"),
]
