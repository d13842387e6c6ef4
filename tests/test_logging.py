"""What the console's log shows for a refused request and for a server error."""

import io
import logging
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import path

pytestmark = pytest.mark.django_db


def refusing_view(request):
    from django.core.exceptions import PermissionDenied

    raise PermissionDenied("sem permissão")


def failing_view(request):
    raise RuntimeError("quebrou")


urlpatterns = [path("refused/", refusing_view), path("broken/", failing_view)]


@contextmanager
def console_log():
    """What the console handler (the one `make run` prints) writes meanwhile."""
    handler = next(h for h in logging.getLogger().handlers if h.filters)
    stream, handler.stream = handler.stream, io.StringIO()
    try:
        yield handler.stream
    finally:
        handler.stream = stream


@pytest.fixture
def viewer(django_user_model):
    user = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_job"))
    return user


def test_a_refused_permission_is_one_line_without_a_traceback(settings):
    settings.ROOT_URLCONF = __name__
    with console_log() as log:
        assert Client().get("/refused/").status_code == 403
    assert "Forbidden (Permission denied): /refused/" in log.getvalue()
    assert "Traceback" not in log.getvalue()


def test_the_queue_pages_refusing_a_viewer_log_no_traceback(viewer):
    client = Client()
    client.force_login(viewer)
    with console_log() as log:
        assert client.get("/admin/django-rq/").status_code == 403
    assert "Traceback" not in log.getvalue()


def test_a_server_error_keeps_its_traceback(settings):
    settings.ROOT_URLCONF = __name__
    with console_log() as log:
        assert Client(raise_request_exception=False).get("/broken/").status_code == 500
    assert "Traceback" in log.getvalue() and "RuntimeError: quebrou" in log.getvalue()
