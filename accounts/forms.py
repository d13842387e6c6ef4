"""The staff and admin login forms, which say so when a login is locked out (django-axes)."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from accounts import services


class LockoutAwareLoginMixin:
    """Replace "wrong username or password" with the lock-out and when it ends, when that is
    why the login was refused; `locked_out` tells the page to answer 429."""

    locked_out = False

    def get_invalid_login_error(self) -> ValidationError:
        try:
            services.login_lockout_check(request=self.request)
        except services.LoginLocked as locked:
            self.locked_out = True
            return ValidationError(str(locked), code="locked_out")
        return super().get_invalid_login_error()


class StaffLoginForm(LockoutAwareLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(LockoutAwareLoginMixin, AdminAuthenticationForm):
    pass
