"""Portal credentials are encrypted at rest, never logged, never returned."""

import logging

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from jobs.fields import SecretDecryptionError
from jobs.models import Job, JobStatus
from jobs.services import runner

SECRETS = {"login": "cliente@empresa.com.br", "senha": "sandbox123"}


def _raw_secrets(job_id) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM jobs_job WHERE id = %s", [job_id.hex if connection.vendor == "sqlite"
                                                                     else job_id])
        return cursor.fetchone()[0]


def _fresh_field_keys():
    # The field caches its Fernet instance; a new key set needs a fresh cache.
    from sellerbot.models import Profile

    for field in (Job._meta.get_field("secrets"), Profile._meta.get_field("credentials")):
        for name in ("keys", "f"):
            field.__dict__.pop(name, None)


@pytest.fixture
def keys(settings):
    def use(*new_keys):
        settings.FIELD_ENCRYPTION_KEYS = list(new_keys)
        _fresh_field_keys()

    yield use
    _fresh_field_keys()


@pytest.mark.django_db
def test_secrets_are_stored_encrypted(alice):
    job = Job.objects.create(kind="OI", owner=alice, secrets=SECRETS)
    raw = _raw_secrets(job.id)
    assert "sandbox123" not in raw and "cliente@" not in raw
    assert Job.objects.get(pk=job.pk).secrets == SECRETS


@pytest.mark.django_db
def test_a_secret_no_key_can_open_raises_instead_of_returning_ciphertext(alice, keys):
    job = Job.objects.create(kind="OI", owner=alice, secrets=SECRETS)
    keys(Fernet.generate_key().decode())
    with pytest.raises(SecretDecryptionError):
        Job.objects.get(pk=job.pk)
    # Reads that do not need the secrets keep working.
    assert Job.objects.defer("secrets").get(pk=job.pk).kind == "OI"


@pytest.mark.django_db
def test_keys_rotate_without_losing_secrets(alice, keys, settings):
    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    job = Job.objects.create(kind="OI", owner=alice, secrets=SECRETS)
    keys(new, old)
    assert Job.objects.get(pk=job.pk).secrets == SECRETS
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))
    keys(new)
    assert Job.objects.get(pk=job.pk).secrets == SECRETS


@pytest.mark.django_db
def test_keys_rotate_for_the_seller_bot_profiles_too(alice, keys, settings):
    from sellerbot.models import Profile

    old, new = settings.FIELD_ENCRYPTION_KEYS[0], Fernet.generate_key().decode()
    profile = Profile.objects.create(owner=alice, name="Loja", username="loja@exemplo.com.br",
                                     credentials={"senha": "tiktok123", "cookies": [{"name": "s", "value": "v"}]})
    keys(new, old)
    call_command("rotate_secrets", stdout=open("/dev/null", "w"))
    keys(new)
    assert Profile.objects.get(pk=profile.pk).credentials["senha"] == "tiktok123"


@pytest.mark.django_db(transaction=True)
def test_a_crashing_automation_never_puts_the_password_in_the_server_log(alice, caplog):
    job = Job.objects.create(kind="OI", owner=alice, params={"filtro": "leak;crash"}, secrets=SECRETS)
    with caplog.at_level(logging.DEBUG):
        runner.job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "RuntimeError" in caplog.text  # the traceback is logged...
    assert "sandbox123" not in caplog.text  # ...without the secret
    logs = " ".join(job.logs.values_list("message", flat=True))
    assert "sandbox123" not in logs and "cliente@empresa.com.br" not in logs


@pytest.mark.django_db
def test_the_admin_never_shows_secrets(alice, client):
    job = Job.objects.create(kind="OI", owner=alice, params={"filtro": "1"}, secrets=SECRETS)
    alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    for url in ("/admin/jobs/job/", f"/admin/jobs/job/{job.pk}/change/"):
        page = client.get(url)
        assert page.status_code == 200
        assert b"sandbox123" not in page.content
        assert b"cliente@empresa.com.br" not in page.content
