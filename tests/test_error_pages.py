"""Errors with DEBUG off: people get the console's own pages in Portuguese, programs get JSON
`{"detail": …}`; nothing technical (traceback, local variables, settings, routes) ever shows."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.template import loader
from django.test import Client

from tests.error_urls import PORTAL_PASSWORD

BASE_DIR = Path(__file__).resolve().parent.parent
TECHNICAL = ("Traceback", "URLconf", "RuntimeError", "DEBUG", "SECRET_KEY", "urlpatterns", PORTAL_PASSWORD)


def assert_console_page(response, status: int, heading: str):
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert '<html lang="pt-br">' in page
    assert "/static/css/console.css" in page and "Console de Operações" in page
    assert f"<h1>{status} · {heading}</h1>" in page
    assert not any(word in page for word in TECHNICAL), page


def assert_json_error(response, status: int, detail: str):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}
    assert not any(word in response.content.decode() for word in TECHNICAL)


def test_make_run_serves_with_debug_off_unless_asked(tmp_path):
    # make run (project/supervisor.py) passes its environment on; nothing in it sets DEBUG.
    code = ("from django.conf import settings as s; "
            "print(s.DEBUG, s.SANDBOX_PORTALS, s.SERVE_STATIC)")
    clean = {k: v for k, v in os.environ.items() if k not in ("DJANGO_DEBUG", "SANDBOX_PORTALS", "SERVE_STATIC")}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "project.settings.base", "VAR_DIR": str(tmp_path)}

    def read(**extra) -> str:
        result = subprocess.run([sys.executable, "-c", "import django; django.setup(); " + code],
                                env={**env, **extra}, cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    assert read() == "False True True"
    assert read(DJANGO_DEBUG="1") == "True True True"


@pytest.mark.django_db
class TestPages:
    def test_an_unknown_page_is_the_consoles_404_without_the_routes(self, client):
        assert_console_page(client.get("/nao-existe/"), 404, "Página não encontrada")

    def test_an_unknown_job_page_is_the_consoles_404(self, client, alice):
        client.force_login(alice)
        assert_console_page(client.get("/painel/jobs/00000000-0000-0000-0000-000000000000/"), 404,
                            "Página não encontrada")

    @pytest.mark.urls("tests.error_urls")
    def test_an_unhandled_error_is_the_consoles_500_without_variables(self):
        response = Client(raise_request_exception=False).get("/painel/falha/")
        assert_console_page(response, 500, "Erro interno")

    def test_a_form_without_its_csrf_token_gets_the_consoles_403(self):
        response = Client(enforce_csrf_checks=True).post("/accounts/login/", {"username": "a", "password": "b"})
        assert response.status_code == 403
        assert "<h1>403 · Formulário expirado</h1>" in response.content.decode()
        assert "/static/css/console.css" in response.content.decode()

    def test_the_500_page_renders_with_no_context_at_all(self):
        page = loader.get_template("500.html").render()
        assert "<h1>500 · Erro interno</h1>" in page and "Console de Operações" in page

    @pytest.mark.parametrize("template", ["400.html", "403.html", "404.html", "403_csrf.html"])
    def test_every_error_page_renders_without_a_request(self, template):
        assert "Console de Operações" in loader.get_template(template).render()


@pytest.mark.django_db
class TestJsonClients:
    @pytest.mark.parametrize("path", ["/api/v1/nada/", "/api/v2/jobs/", "/auth/nada", "/status/", "/jobsx"])
    def test_an_unknown_api_route_is_a_json_404(self, client, path):
        assert_json_error(client.get(path), 404, "Não encontrado.")

    def test_a_program_asking_for_json_gets_a_json_404_anywhere(self, client):
        assert_json_error(client.get("/nao-existe/", HTTP_ACCEPT="application/json"), 404, "Não encontrado.")

    @pytest.mark.urls("tests.error_urls")
    @pytest.mark.parametrize("path", ["/api/v1/falha/", "/executar/falha/x"])
    def test_an_unhandled_api_error_is_a_json_500_without_variables(self, path):
        response = Client(raise_request_exception=False).post(
            path, {"senha": PORTAL_PASSWORD}, content_type="application/json")
        assert_json_error(response, 500,
                          "Erro interno do servidor. A falha foi registrada; tente novamente em instantes.")


def test_the_static_files_are_served_with_debug_off(asgi_server):
    import requests

    response = requests.get(f"{asgi_server.url}/static/css/console.css", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert b".error-card" in response.content
