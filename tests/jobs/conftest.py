"""Fixtures the job tests share."""

import pytest

from jobs.queues import RPA_QUEUE, queue


@pytest.fixture
def rpa_queue():
    """The real `rpa` queue; whatever a test put on it is taken off again (no worker runs here)."""
    rpa = queue(RPA_QUEUE)
    before = set(rpa.get_job_ids())
    yield rpa
    for job_id in set(rpa.get_job_ids()) - before:
        rpa.remove(job_id)
