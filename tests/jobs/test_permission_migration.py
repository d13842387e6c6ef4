"""The upgrade that made job creation need jobs.add_job on the API (jobs 0002) keeps the existing
frontends' users working and widens nobody else's rights."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("jobs", "0001_initial")]
AFTER = [("jobs", "0002_grant_job_creation_to_api_users")]


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_existing_api_users_keep_starting_jobs_and_staff_keep_their_rights(django_user_model,
                                                                          latest_schema_afterwards):
    migrate(BEFORE)
    api_user = django_user_model.objects.create_user("frontend", password="x")
    viewer = django_user_model.objects.create_user("vera", password="x", is_staff=True)
    retired = django_user_model.objects.create_user("old", password="x", is_active=False)

    migrate(AFTER)

    assert django_user_model.objects.get(pk=api_user.pk).has_perm("jobs.add_job")
    assert not django_user_model.objects.get(pk=viewer.pk).has_perm("jobs.add_job")
    assert not django_user_model.objects.get(pk=retired.pk).user_permissions.exists()
