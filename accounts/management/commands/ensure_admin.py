import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create the first admin account if there is none. Honours DJANGO_SUPERUSER_USERNAME and "
        "DJANGO_SUPERUSER_PASSWORD; only a generated password is printed and kept in "
        "var/initial-admin.txt, and only until it is changed."
    )

    def handle(self, *args, **options):
        note = settings.VAR_DIR / "initial-admin.txt"
        User = get_user_model()
        admins = User.objects.filter(is_superuser=True)
        if admins.exists():
            _forget_a_changed_password(note)
            names = ", ".join(admins.values_list("username", flat=True)[:5])
            kept = f" (initial password in {note} until it is changed)" if note.exists() else ""
            self.stdout.write(f"Admin account(s) already present: {names}{kept}")
            return

        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        given = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        password = given or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, password=password,
                                      email=os.environ.get("DJANGO_SUPERUSER_EMAIL", ""))
        if given:
            note.unlink(missing_ok=True)
            self.stdout.write(self.style.SUCCESS(
                f"Created admin account  username: {username}  (password from DJANGO_SUPERUSER_PASSWORD)"
            ))
            return
        _write_private(note, f"username: {username}\npassword: {password}\n")
        self.stdout.write(self.style.SUCCESS(
            f"Created admin account  username: {username}  password: {password}  "
            f"(also in {note} until it is changed)"
        ))


def _forget_a_changed_password(note: Path) -> None:
    """Remove the note once its password no longer opens the account it names."""
    try:
        fields = dict(line.split(": ", 1) for line in note.read_text().splitlines() if ": " in line)
    except FileNotFoundError:
        return
    user = get_user_model().objects.filter(username=fields.get("username", "")).first()
    if user is None or not user.check_password(fields.get("password", "")):
        note.unlink(missing_ok=True)


def _write_private(path: Path, text: str) -> None:
    # Created 0600, never readable by others even for an instant.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    path.chmod(0o600)
