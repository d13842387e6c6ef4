"""Encryption at rest for a job's secret parameters (portal login and password)."""

import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.functional import cached_property
from encrypted_fields.fields import EncryptedTextField


class SecretDecryptionError(Exception):
    """A stored secret could not be decrypted with any of FIELD_ENCRYPTION_KEYS."""


class EncryptedSecretsField(EncryptedTextField):
    """A JSON object stored as one Fernet token.

    Built on django-fernet-encrypted-fields, with two changes: the keys come from
    FIELD_ENCRYPTION_KEYS (not derived from SECRET_KEY, so rotating one does not touch the
    other; the first key encrypts and all of them decrypt), and a value that no key decrypts
    raises SecretDecryptionError; the library would hand back the ciphertext as if it were
    the secret.
    """

    @cached_property
    def keys(self) -> list[bytes]:
        return [key.encode() for key in settings.FIELD_ENCRYPTION_KEYS]

    @cached_property
    def f(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in self.keys])

    def get_prep_value(self, value):
        if value is None:
            return None
        return self.f.encrypt(json.dumps(value).encode()).decode()

    def to_python(self, value):
        if value is None or isinstance(value, dict):
            return value
        try:
            return json.loads(self.f.decrypt(value.encode()))
        except (InvalidToken, ValueError):
            raise SecretDecryptionError(
                "A stored secret could not be decrypted: is FIELD_ENCRYPTION_KEYS missing the key it was written with?"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt `ciphertext` under the first (newest) key."""
        return self.f.rotate(ciphertext.encode()).decode()
