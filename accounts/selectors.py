from django.utils import timezone

from accounts.models import IntegrationToken


def integration_token_is_active(*, jti: str) -> bool:
    return IntegrationToken.objects.filter(
        jti=jti, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()
