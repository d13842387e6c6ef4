"""Filters for the console's log."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Keep the line Django logs for a 4xx answer (a refused permission, a missing page) but drop
    its traceback: the client's request was wrong, not the code, and a traceback in the log
    reads as a crash to whoever watches it. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
