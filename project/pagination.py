from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination

MAX_OFFSET = 10_000_000


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """limit/offset paging that names a bad value instead of silently ignoring it.

    DRF falls back to defaults for malformed values and accepts any offset, which the database
    then rejects (an offset past 2^63 is a server error on PostgreSQL).
    """

    default_limit = 50
    max_limit = 500

    def get_limit(self, request):
        raw = request.query_params.get(self.limit_query_param)
        if raw is None:
            return self.default_limit
        return _bounded_int(self.limit_query_param, raw, minimum=1, maximum=self.max_limit)

    def get_offset(self, request):
        raw = request.query_params.get(self.offset_query_param)
        if raw is None:
            return 0
        return _bounded_int(self.offset_query_param, raw, minimum=0, maximum=MAX_OFFSET)


def _bounded_int(name: str, raw: str, *, minimum: int, maximum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [f"deve ser um número inteiro, não {raw[:20]!r}"]})
    if not minimum <= value <= maximum:
        raise ValidationError({name: [f"deve estar entre {minimum} e {maximum}"]})
    return value
