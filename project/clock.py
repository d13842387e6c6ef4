"""One way to write an instant for a client: ISO 8601 in TIME_ZONE, with its offset.

Every surface uses it — the seed routes and /api/v1 (DRF writes datetimes the same way), the
/events/logs stream, the websocket frames and the dashboard's JSON — so one job's times read the
same wherever they are seen: "2026-12-02T08:15:30.123456-03:00".
"""

from datetime import datetime

from django.utils import timezone


def iso_local(moment: datetime) -> str:
    """`moment` (aware) in the configured TIME_ZONE, as DRF's DateTimeField writes it (…Z in UTC)."""
    text = timezone.localtime(moment).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def now_iso() -> str:
    """This instant, as iso_local writes it."""
    return iso_local(timezone.now())
