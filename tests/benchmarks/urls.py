"""The application's routes plus `bench/trivial`, the baseline the benchmark compares against."""

from django.http import JsonResponse
from django.urls import include, path


def trivial(request):
    """The cheapest JSON answer Django gives through the same middleware stack."""
    return JsonResponse({"status": "ok"})


urlpatterns = [
    path("bench/trivial", trivial, name="bench-trivial"),
    path("", include("project.urls")),
]
