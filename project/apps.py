from django.contrib.admin.apps import AdminConfig


class ConsoleAdminConfig(AdminConfig):
    """django.contrib.admin with the console's own site (project/admin_site.py)."""

    default_site = "project.admin_site.ConsoleAdminSite"
