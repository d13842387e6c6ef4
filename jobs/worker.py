"""The rq worker class of the `rpa` queue: rq's forking Worker, made cheap and fork-safe.

Each job runs in a forked work-horse, so a browser that hangs or a job that crashes the
interpreter takes only its horse down, and rq can kill the horse at the job's timeout. Two
things make the fork cost what a non-forking worker costs:

- the code a job needs (the task, the engine, every automation) is imported once in the
  parent, so a horse starts with it instead of importing it again per job;
- database connections are closed before each fork: a connection inherited by the horse would
  share its socket with the parent, and the two would corrupt each other's protocol stream.
"""

from importlib import import_module

from django.conf import settings
from django.db import connections
from rq.worker import Worker

from jobs.automation import automation_for


class RpaWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _import_job_code()

    def fork_work_horse(self, job, queue):
        connections.close_all()
        super().fork_work_horse(job, queue)


def _import_job_code() -> None:
    import_module("jobs.tasks")
    for kind in settings.JOB_AUTOMATIONS:
        automation_for(kind)
