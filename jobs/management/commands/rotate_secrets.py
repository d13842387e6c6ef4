from django.core.management.base import BaseCommand

from jobs.models import Job


class Command(BaseCommand):
    help = (
        "Re-encrypt every job's secrets with the first key of FIELD_ENCRYPTION_KEYS. "
        "Roll a key out by putting the new key first, running this, then dropping the old key."
    )

    def handle(self, *args, **options):
        count = 0
        for pk, secrets in Job.objects.values_list("pk", "secrets").iterator():
            # values_list decrypts; re-saving through the field encrypts with the newest key.
            Job.objects.filter(pk=pk).update(secrets=secrets)
            count += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} job(s) with the newest key.")
