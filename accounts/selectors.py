from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import BooleanField, Case, OuterRef, Q, QuerySet, Subquery, Sum, Value, When
from django.utils import timezone

from accounts.models import IntegrationToken


def integration_token_is_active(*, jti: str) -> bool:
    return IntegrationToken.objects.filter(
        jti=jti, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def login_attempts_with_lockout(queryset: QuerySet[AccessAttempt]) -> QuerySet[AccessAttempt]:
    """`queryset` with `locked`: whether the username or the address of each record is locked out
    now, counted as django-axes counts it (the failures of every record of that username, or of
    that address, within the cool-off, against LOGIN_FAILURE_LIMIT)."""
    recent = AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    limit = settings.AXES_FAILURE_LIMIT
    return queryset.annotate(
        username_failures=_failures_of(recent, "username"),
        address_failures=_failures_of(recent, "ip_address"),
    ).annotate(
        locked=Case(
            When(Q(username_failures__gte=limit) | Q(address_failures__gte=limit), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def _failures_of(recent: QuerySet[AccessAttempt], field: str) -> Subquery:
    same = recent.filter(**{field: OuterRef(field)}).order_by().values(field)
    return Subquery(same.annotate(total=Sum("failures_since_start")).values("total")[:1])
