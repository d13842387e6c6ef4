from django.contrib import admin
from django.http import HttpRequest


def admin_link(request: HttpRequest) -> dict:
    """`admin_visible`: whether the navigation offers the Admin link, so that staff who would find
    nothing there are not sent to an empty page. Worked out only when a template asks."""
    return {"admin_visible": lambda: admin.site.has_entries_for(request)}
