"""The three permission groups an administrator hands out (README, "Permission groups").

Operadores start and retry jobs (dashboard), see them with their logs, files and processo
deliveries, and may ask for an undelivered callback to be retried now. Leitura only sees them.
Administradores hold every permission that exists when this runs: users, groups, tokens, jobs,
the queues. Permissions are normally created after all migrations; they are created here first
so that a fresh database gets complete groups.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = "Operadores"
READERS = "Leitura"
ADMINISTRATORS = "Administradores"

JOB_VIEWING = [
    ("jobs", "view_job"),
    ("jobs", "view_joblog"),
    ("jobs", "view_jobartifact"),
    ("jobs", "view_callbackdelivery"),
    ("jobs", "view_callbackattempt"),
]
GROUP_PERMISSIONS = {
    READERS: JOB_VIEWING,
    OPERATORS: [*JOB_VIEWING, ("jobs", "add_job"), ("jobs", "change_callbackdelivery")],
}


def create_groups(apps, schema_editor):
    _create_every_permission(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in codenames
        ))
    administrators, _ = Group.objects.get_or_create(name=ADMINISTRATORS)
    administrators.permissions.add(*Permission.objects.all())


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[OPERATORS, READERS, ADMINISTRATORS]).delete()


def _create_every_permission(apps):
    for app_config in apps.get_app_configs():
        # create_permissions skips apps without a models module; the migration state's apps
        # have none, so lend them one for the call.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_portuguese_names_and_jwt_proxies"),
        ("jobs", "0003_portuguese_names"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_rq", "0003_alter_dashboard_permission_names"),
        ("sessions", "0001_initial"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
