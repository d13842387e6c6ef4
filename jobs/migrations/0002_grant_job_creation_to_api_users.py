"""Starting a job now needs jobs.add_job on the API too, as it already did on the pages.

Until now any signed-in user could start jobs through /executar and /api/v1/jobs/, and the
existing frontends' users are ordinary (non-staff) accounts that do exactly that: they are given
jobs.add_job here so that the upgrade locks nobody out. Staff accounts are left as they are: the
pages already asked them for jobs.add_job, so whether they have it was an administrator's choice.
Superusers have every permission anyway. Reversing leaves the grants in place (they were the
behaviour before).
"""

from django.db import migrations


def grant_job_creation_to_api_users(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    users = User.objects.filter(is_active=True, is_staff=False, is_superuser=False)
    if not users.exists():
        return
    permission = _add_job_permission(apps)
    for user in users.iterator():
        user.user_permissions.add(permission)


def _add_job_permission(apps):
    # On a database migrated for the first time the permission rows are only written after the
    # last migration (post_migrate); make this one now if it is not there yet.
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="jobs", model="job")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="add_job", defaults={"name": "Can add job"}
    )
    return permission


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_initial"),
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant_job_creation_to_api_users, migrations.RunPython.noop, elidable=True),
    ]
