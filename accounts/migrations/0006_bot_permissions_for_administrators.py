"""Administradores manage bots too: 0004 gave them every permission that existed then, before
the Bot model."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

BOT_PERMISSIONS = ["add_bot", "change_bot", "delete_bot", "view_bot"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("accounts")
    # As in 0004: the migration state's app has no models module, so lend it one.
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Administradores"):
        group.permissions.add(*Permission.objects.filter(content_type__app_label="accounts",
                                                         codename__in=BOT_PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Administradores"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="accounts",
                                                            codename__in=BOT_PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_bot"), ("accounts", "0004_permission_groups")]

    operations = [migrations.RunPython(grant, revoke)]
