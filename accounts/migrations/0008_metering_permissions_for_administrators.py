"""Administradores see and manage metering and bot events too: 0004 gave them every permission
that existed then, before these models."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODELS = ["modelprice", "tokenusage", "budgetalert", "botevent"]
PERMISSIONS = [f"{action}_{model}" for model in MODELS for action in ("add", "change", "delete", "view")]


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
                                                         codename__in=PERMISSIONS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name="Administradores"):
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="accounts",
                                                            codename__in=PERMISSIONS))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_usage_prices_budgets_events")]

    operations = [migrations.RunPython(grant, revoke)]
