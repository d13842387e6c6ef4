"""Small filters the dashboard templates share."""

from django import template

from jobs.forms import ERROR_CATEGORIES

register = template.Library()


@register.filter
def failure_category(category: str) -> str:
    """The failure category a job ended with, as the pages name it."""
    return ERROR_CATEGORIES.get(category, category or "Sem categoria")
