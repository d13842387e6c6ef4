"""Seed 004's /bot/* and /seller-bot/* paths, exactly (no trailing slash)."""

from django.urls import include, path

from sellerbot import api
from sellerbot.chatbot import api as chatbot_api

seed_urlpatterns = [
    path("bot/profiles", api.ProfilesApi.as_view(), name="bot-profiles"),
    path("bot/profiles/<str:profile_id>", api.ProfileApi.as_view(), name="bot-profile"),
    path("bot/profiles/<str:profile_id>/verify", api.ProfileVerifyApi.as_view(), name="bot-profile-verify"),
    path("bot/tasks", api.TasksApi.as_view(), name="bot-tasks"),
    path("bot/tasks/<str:task_id>", api.TaskApi.as_view(), name="bot-task"),
    path("bot/start", api.WorkerStartApi.as_view(), name="bot-start"),
    path("bot/stop", api.WorkerStopApi.as_view(), name="bot-stop"),
    path("bot/worker-status", api.WorkerStatusApi.as_view(), name="bot-worker-status"),
    path("bot/stats", api.StatsApi.as_view(), name="bot-stats"),
    path("seller-bot/webhook/", include("sellerbot.chatbot.webhook_urls")),
    path("seller-bot/message", chatbot_api.MessageApi.as_view(), name="seller-bot-message"),
    path("seller-bot/conversations", chatbot_api.ConversationsApi.as_view(), name="seller-bot-conversations"),
    path("seller-bot/conversations/<str:conversation_id>/handoff", chatbot_api.HandOffApi.as_view(),
         name="seller-bot-handoff"),
    path("seller-bot/conversations/<str:conversation_id>/messages", chatbot_api.ThreadApi.as_view(),
         name="seller-bot-thread"),
    path("seller-bot/stats", chatbot_api.ChatbotStatsApi.as_view(), name="seller-bot-stats"),
    path("seller-bot/stats/intents", chatbot_api.IntentStatsApi.as_view(), name="seller-bot-stats-intents"),
    path("seller-bot/stats/funnel", chatbot_api.FunnelApi.as_view(), name="seller-bot-stats-funnel"),
    path("seller-bot/config", chatbot_api.ConfigApi.as_view(), name="seller-bot-config"),
    path("seller-bot/health", chatbot_api.HealthApi.as_view(), name="seller-bot-health"),
]
