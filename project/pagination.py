from functools import cached_property

from django.core.paginator import Paginator
from django.db import connections
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


class EstimatedCountPaginator(Paginator):
    """Django's paginator, except for the unfiltered list of a large table on PostgreSQL, whose
    size comes from the planner's statistics instead of a COUNT(*) over every row (about 150 ms
    a page at a million records). The total shown is then approximate, as ANALYZE last saw it;
    a filtered or searched list is counted exactly."""

    exact_below = 100_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] >= self.exact_below:
                return row[0]
        return super().count
