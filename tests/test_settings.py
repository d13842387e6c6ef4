"""Settings come from the environment, typed and loud."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from project.env import env_bool, env_int, env_list, env_networks, env_str

BASE_DIR = Path(__file__).resolve().parent.parent


def _import_production_settings(**env) -> subprocess.CompletedProcess:
    prefixes = ("DJANGO_", "JWT_", "FIELD_", "REDIS_", "DATABASE_", "METRICS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return subprocess.run(
        [sys.executable, "-c", "import project.settings.production"],
        env={**clean, **env}, cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
    )


PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "s" * 50, "JWT_SIGNING_KEY": "j" * 50,
    "FIELD_ENCRYPTION_KEYS": "dGVzdC1vbmx5LWZpZWxkLWtleS0wMDAwMDAwMDAwMDA=",
    "DJANGO_ALLOWED_HOSTS": "console.example.com", "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/console", "VAR_DIR": "/tmp/console-settings-test",
    "METRICS_TOKEN": "m" * 40,
}


def test_production_starts_with_every_secret_given():
    result = _import_production_settings(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "JWT_SIGNING_KEY", "FIELD_ENCRYPTION_KEYS", "REDIS_URL"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _import_production_settings(**env)
    assert result.returncode != 0
    assert f"The environment variable {missing} must be set." in result.stderr


def test_the_deployment_checklist_is_clean_under_production_settings():
    prefixes = ("DJANGO_", "JWT_", "FIELD_", "REDIS_", "DATABASE_", "METRICS_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env = {**clean, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "project.settings.production",
           "DJANGO_SECRET_KEY": "k3y-" + "x7Qp9vB2mN4zR8tL" * 4}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_with_metrics_open_to_anyone():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "METRICS_TOKEN"}
    result = _import_production_settings(**env)
    assert result.returncode != 0
    assert "Set METRICS_TOKEN" in result.stderr and "METRICS_ALLOWED_ADDRESSES" in result.stderr


def test_production_starts_with_a_metrics_allow_list_instead_of_a_token():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "METRICS_TOKEN"}
    result = _import_production_settings(**env, METRICS_ALLOWED_ADDRESSES="10.0.0.0/8, 192.168.0.7")
    assert result.returncode == 0, result.stderr


class TestEnvHelpers:
    def test_it_reads_networks_and_names_the_variable_of_a_bad_one(self, monkeypatch):
        monkeypatch.setenv("METRICS_ALLOWED_ADDRESSES", "10.0.0.0/8, ::1")
        assert [str(n) for n in env_networks("METRICS_ALLOWED_ADDRESSES", [])] == ["10.0.0.0/8", "::1/128"]
        monkeypatch.setenv("METRICS_ALLOWED_ADDRESSES", "10.0.0.0/8, prometheus.local")
        with pytest.raises(ImproperlyConfigured, match="METRICS_ALLOWED_ADDRESSES must list IP addresses"):
            env_networks("METRICS_ALLOWED_ADDRESSES", [])

    def test_it_names_the_variable_of_a_bad_number(self, monkeypatch):
        monkeypatch.setenv("RPA_MAX_CONCURRENCY", "five")
        with pytest.raises(ImproperlyConfigured, match="RPA_MAX_CONCURRENCY must be a whole number"):
            env_int("RPA_MAX_CONCURRENCY", 5)

    def test_it_refuses_a_number_below_the_minimum(self, monkeypatch):
        monkeypatch.setenv("RPA_MAX_CONCURRENCY", "0")
        with pytest.raises(ImproperlyConfigured, match="at least 1"):
            env_int("RPA_MAX_CONCURRENCY", 5, minimum=1)

    def test_it_reads_booleans_and_refuses_others(self, monkeypatch):
        monkeypatch.setenv("FLAG", "yes")
        assert env_bool("FLAG", False) is True
        monkeypatch.setenv("FLAG", "0")
        assert env_bool("FLAG", True) is False
        monkeypatch.setenv("FLAG", "maybe")
        with pytest.raises(ImproperlyConfigured, match="FLAG must be a boolean"):
            env_bool("FLAG", True)

    def test_it_splits_lists_and_uses_defaults(self, monkeypatch):
        monkeypatch.setenv("HOSTS", " a.com, ,b.com ")
        assert env_list("HOSTS") == ["a.com", "b.com"]
        monkeypatch.delenv("HOSTS")
        assert env_list("HOSTS", ["x"]) == ["x"]
        assert env_str("NOT_SET_ANYWHERE", "fallback") == "fallback"


def test_manage_py_commands_use_the_keys_make_run_generated(tmp_path):
    (tmp_path / "secrets.env").write_text(
        "DJANGO_SECRET_KEY=from-the-file-" + "k" * 40 + "\nJWT_SIGNING_KEY=jwt-from-the-file-" + "j" * 40 + "\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "JWT_", "FIELD_"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c",
         "from django.conf import settings; print(settings.SECRET_KEY, settings.SIMPLE_JWT['SIGNING_KEY'])"],
        env={**clean, "VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0",
             "DJANGO_SETTINGS_MODULE": "project.settings.base"},
        cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["from-the-file-" + "k" * 40, "jwt-from-the-file-" + "j" * 40]


def test_a_variable_set_in_the_environment_wins_over_the_secrets_file(tmp_path, monkeypatch):
    from project.env import env_file_load

    (tmp_path / "secrets.env").write_text("CONSOLE_TEST_KEY=from-file\nCONSOLE_TEST_OTHER=also=file\n")
    monkeypatch.setenv("CONSOLE_TEST_KEY", "from-env")
    monkeypatch.delenv("CONSOLE_TEST_OTHER", raising=False)
    env_file_load(tmp_path / "secrets.env")
    assert os.environ["CONSOLE_TEST_KEY"] == "from-env"
    assert os.environ["CONSOLE_TEST_OTHER"] == "also=file"
    monkeypatch.delenv("CONSOLE_TEST_OTHER")
