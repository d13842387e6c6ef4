from django.urls import path

from jobs import api, sse, views

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

# Staff dashboard pages, under /painel/.
dashboard_urlpatterns = [
    path("", views.overview, name="overview"),
    path("jobs/", views.job_list, name="job-list"),
    path("jobs/exportar.csv", views.job_export, name="job-export"),
    path("jobs/repetir", views.job_retry_bulk, name="job-retry-bulk"),
    path("jobs/novo/<str:kind>/", views.job_new, name="job-new"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/estado.json", views.job_state, name="job-state"),
    path("jobs/<uuid:job_id>/linha", views.job_row, name="job-row"),
    path("jobs/<uuid:job_id>/repetir", views.job_retry, name="job-retry"),
    path("jobs/<uuid:job_id>/resultado", views.job_result, name="job-result"),
    path("jobs/<uuid:job_id>/artefatos/<int:artifact_id>", views.job_artifact, name="job-artifact"),
]
