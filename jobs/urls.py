from django.urls import path

from jobs import api, sse

# Seed-compatible routes (seed 003 §4): no trailing slashes, exact paths.
seed_urlpatterns = [
    path("health", api.HealthApi.as_view(), name="health"),
    path("executar/sat", api.SatJobCreateApi.as_view(), name="executar-sat"),
    path("executar/<str:operadora>", api.CarrierJobCreateApi.as_view(), name="executar-operadora"),
    path("status/<str:job_id>", api.JobStatusApi.as_view(), name="job-status"),
    path("jobs", api.JobListApi.as_view(), name="job-list"),
    path("events/logs", sse.events_logs, name="events-logs"),
]

api_v1_urlpatterns = [
    path("jobs/", api.JobListCreateApiV1.as_view(), name="v1-job-list"),
    path("jobs/<uuid:pk>/", api.JobDetailApiV1.as_view(), name="v1-job-detail"),
]
