from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerSplitView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import api as accounts_api
from accounts import views as accounts_views
from accounts.bot_events import api as events_api
from accounts.dashboard_urls import dashboard_urlpatterns as bots_dashboard
from accounts.usage import api as usage_api
from jobs.admin import queue_urlpatterns
from jobs.urls import api_v1_urlpatterns as jobs_v1
from jobs.urls import dashboard_urlpatterns
from jobs.urls import seed_urlpatterns as jobs_seed
from project.metrics import metrics_export
from sellerbot.dashboard_urls import dashboard_urlpatterns as sellerbot_dashboard
from sellerbot.urls import seed_urlpatterns as sellerbot_seed

api_v1 = [
    path("auth/token/", TokenObtainPairView.as_view(), name="v1-token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="v1-token-refresh"),
    path("ws-tickets/", accounts_api.WsTicketApi.as_view(), name="v1-ws-ticket"),
    path("bots/me/", accounts_api.BotMeApi.as_view(), name="v1-bots-me"),
    path("token-usage/", usage_api.TokenUsageCreateApi.as_view(), name="v1-token-usage"),
    path("token-usage/batch/", usage_api.TokenUsageBatchApi.as_view(), name="v1-token-usage-batch"),
    path("events/", events_api.BotEventCreateApi.as_view(), name="v1-bot-events"),
    path("events/batch/", events_api.BotEventBatchApi.as_view(), name="v1-bot-events-batch"),
    path("dashboard/status/", events_api.DashboardStatusApi.as_view(), name="v1-dashboard-status"),
    path("dashboard/metrics/", events_api.DashboardMetricsApi.as_view(), name="v1-dashboard-metrics"),
    path("usage/", usage_api.UsageListApi.as_view(), name="v1-usage"),
    path("usage/export.csv", usage_api.UsageExportApi.as_view(), name="v1-usage-export"),
    *jobs_v1,
]

urlpatterns = [
    # The console's front door is the dashboard (which asks for a staff login first).
    path("", RedirectView.as_view(pattern_name="dashboard:overview"), name="home"),
    # Seed-compatible surface (exact paths; existing frontends depend on them).
    path("auth/login", accounts_api.AuthLoginApi.as_view(), name="auth-login"),
    path("auth/tokenRefresh", accounts_api.AuthTokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/token", accounts_api.AuthTokenApi.as_view(), name="auth-token"),
    *jobs_seed,
    *sellerbot_seed,
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    # The split view serves Swagger UI's initialiser as a file: no inline script for the CSP.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="openapi"), name="docs"),
    # REST API for new frontends.
    path("api/v1/", include(api_v1)),
    # Staff.
    path("painel/", include(([*dashboard_urlpatterns, *bots_dashboard, *sellerbot_dashboard], "dashboard"))),
    path("accounts/", include("accounts.urls")),
    path("admin/django-rq/", include((queue_urlpatterns(), "django_rq"))),
    # The admin's own login view, answering 429 while a login is locked out.
    path("admin/login/", accounts_views.admin_login),
    path("admin/", admin.site.urls),
    path("metrics", metrics_export, name="prometheus-django-metrics"),
]

if settings.SANDBOX_PORTALS:
    # Imitations of the carrier portals and of SAT, for demos and tests (off in production).
    urlpatterns += [
        path("sandbox/", include("carriers.sandbox.urls")),
        path("sandbox/tiktok/", include("sellerbot.sandbox.urls")),
    ]

# With DEBUG off: JSON for programs, the console's own pages for people (project/errors.py).
handler400 = "project.errors.bad_request"
handler403 = "project.errors.permission_denied"
handler404 = "project.errors.page_not_found"
handler500 = "project.errors.server_error"
