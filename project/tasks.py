"""What every app's rq tasks share."""

import functools

from django.db import close_old_connections, connection

from project import live


def database_task(function):
    """Drop a database connection that the server closed or that outlived CONN_MAX_AGE, before
    and after the task, as Django does around each request: a worker that runs tasks in its own
    process lives for days. Live notifications still pending leave before the task returns (a
    forked work-horse exits right after)."""

    @functools.wraps(function)
    def task(*args, **kwargs):
        _close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            live.flush()
            _close_old_connections()

    return task


def _close_old_connections() -> None:
    # Called inside a transaction (a caller's atomic block, a test), the connection is the
    # caller's to keep.
    if not connection.in_atomic_block:
        close_old_connections()
