"""CSV files for spreadsheets set to Portuguese: semicolon-separated, a byte order mark first,
times on the console's clock, and no cell a spreadsheet would run as a formula. The jobs list
and the usage records are exported this way, so both open alike."""

import csv
from datetime import datetime

from django.utils import timezone

BYTE_ORDER_MARK = "\ufeff"
# A cell a spreadsheet would run as a formula (CSV injection): it is written as text instead.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_line_writer():
    """A csv.writer whose writerow() returns the line instead of storing it (for streaming)."""
    return csv.writer(_Line(), delimiter=";")


def spreadsheet_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def local_time(moment: datetime | None) -> str | None:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else None


class _Line:
    def write(self, text: str) -> str:
        return text
