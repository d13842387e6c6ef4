from django.core.management.base import BaseCommand

from jobs.models import Job
from sellerbot.models import Profile


class Command(BaseCommand):
    help = (
        "Re-encrypt every job's secrets and every Seller Bot profile's credentials with the first key "
        "of FIELD_ENCRYPTION_KEYS. "
        "Roll a key out by putting the new key first, running this, then dropping the old key."
    )

    def handle(self, *args, **options):
        count = 0
        for pk, secrets in Job.objects.values_list("pk", "secrets").iterator():
            # values_list decrypts; re-saving through the field encrypts with the newest key.
            Job.objects.filter(pk=pk).update(secrets=secrets)
            count += 1
        profiles = 0
        for pk, credentials in Profile.objects.values_list("pk", "credentials").iterator():
            Profile.objects.filter(pk=pk).update(credentials=credentials)
            profiles += 1
        self.stdout.write(f"Re-encrypted the secrets of {count} job(s) and the credentials of {profiles} "
                          "Seller Bot profile(s) with the newest key.")
