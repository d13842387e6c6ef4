"""`make run`'s first admin account: a password is shown and kept only when it was generated."""

import io

import pytest
from django.core.management import call_command


@pytest.fixture
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def _ensure_admin() -> str:
    out = io.StringIO()
    call_command("ensure_admin", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_password_given_in_the_environment_is_neither_printed_nor_kept(var_dir, monkeypatch, django_user_model):
    monkeypatch.setenv("DJANGO_SUPERUSER_USERNAME", "root")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "s3nha-do-ambiente")

    output = _ensure_admin()

    assert "s3nha-do-ambiente" not in output
    assert "root" in output
    assert not (var_dir / "initial-admin.txt").exists()
    assert django_user_model.objects.get(username="root").check_password("s3nha-do-ambiente")


@pytest.mark.django_db
def test_a_generated_password_is_printed_and_kept_privately_until_it_is_changed(var_dir, monkeypatch,
                                                                              django_user_model):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    output = _ensure_admin()
    note = var_dir / "initial-admin.txt"
    password = note.read_text().split("password: ")[1].strip()
    assert password in output
    assert note.stat().st_mode & 0o777 == 0o600

    assert password not in _ensure_admin()  # a later start does not print it again
    assert note.exists()

    admin = django_user_model.objects.get(username="admin")
    admin.set_password("a-new-one-only-the-admin-knows")
    admin.save()
    _ensure_admin()
    assert not note.exists()
