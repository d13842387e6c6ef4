"""Date and time formats for pt-BR, over Django's own: times always with seconds (a job's steps
are seconds apart) and compact dates, so the admin's lists fit their columns."""

DATETIME_FORMAT = "d/m/Y H:i:s"
SHORT_DATETIME_FORMAT = "d/m/Y H:i:s"
TIME_FORMAT = "H:i:s"
