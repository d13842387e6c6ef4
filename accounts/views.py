"""The staff login (/accounts/login/) and the admin's (/admin/login/), answering 429 while the
login is locked out (the form says why and until when)."""

from functools import wraps

from django.contrib import admin
from django.contrib.auth import views as auth_views

from accounts.forms import StaffLoginForm


def lockout_answers_429(view):
    """Give a login page that refused a locked-out login the status that says so."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if getattr(form, "locked_out", False):
            response.status_code = 429
        return response

    return wrapped


staff_login = lockout_answers_429(
    auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=StaffLoginForm)
)
admin_login = lockout_answers_429(admin.site.login)
