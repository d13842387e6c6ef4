import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first admin account if there is none, and print its credentials. "
        "Honours DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD."
    )

    def handle(self, *args, **options):
        import os

        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            names = ", ".join(User.objects.filter(is_superuser=True).values_list("username", flat=True)[:5])
            self.stdout.write(f"Admin account(s) already present: {names}")
            return
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, password=password,
                                      email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))
        note = settings.VAR_DIR / "initial-admin.txt"
        note.write_text(f"username: {username}\npassword: {password}\n")
        note.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(
            f"Created admin account  username: {username}  password: {password}  (also in {note})"
        ))
