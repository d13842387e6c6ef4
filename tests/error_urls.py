"""The console's routes plus views that fail on purpose, for tests/test_error_pages.py."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from project import urls as console_urls
from project.seed import SeedAPIView

PORTAL_PASSWORD = "S3nh4-do-Portal!"


def failing_page(request):
    senha = PORTAL_PASSWORD  # a local variable a debug page would print
    raise RuntimeError(f"falha de teste {len(senha)}")


class FailingApi(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        senha = request.data.get("senha")
        raise RuntimeError(f"falha de teste {len(senha)}")


class FailingSeedApi(SeedAPIView, FailingApi):
    pass


urlpatterns = [
    path("painel/falha/", failing_page),
    path("api/v1/falha/", FailingApi.as_view()),
    path("executar/falha/x", FailingSeedApi.as_view()),
    *console_urls.urlpatterns,
]
# Whatever error handlers the console's URLconf declares (Django's own where it declares none).
for _code in (400, 403, 404, 500):
    if hasattr(console_urls, f"handler{_code}"):
        globals()[f"handler{_code}"] = getattr(console_urls, f"handler{_code}")

