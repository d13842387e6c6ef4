"""The rq worker classes of the console: jobs survive an orderly stop of `make run`.

On a stop the supervisor sends SIGTERM: rq lets the running job finish (warm shutdown). If it is
still running when SHUTDOWN_GRACE_SECONDS are over, a second SIGTERM arrives (rq's cold
shutdown): rq would kill the job where it stands and leave it RUNNING for the heartbeat reaper
to call a crash. Here the automation is interrupted instead (jobs.automation.ConsoleStopped), the
job ends FAILED saying that the console was stopped, its browser is closed, and the worker exits.

- SimpleRpaWorker (the default) runs each job in the worker's own process: a job starts in
  about 4 ms instead of about 20 ms with a forked work-horse (make bench).
- RpaWorker is rq's forking Worker, made cheap and fork-safe: each job runs in a forked
  work-horse, so a browser that hangs or a job that crashes the interpreter takes only its
  horse down. The code a job needs is imported once in the parent, so a horse starts with it;
  database connections are closed before each fork, since a connection inherited by the horse
  would share its socket with the parent and the two would corrupt each other's stream.
"""

import signal
from importlib import import_module

from django.conf import settings
from django.db import connections
from rq.worker import SimpleWorker, Worker

from jobs.automation import ConsoleStopped, automation_for
from jobs.services import runner


class SimpleRpaWorker(SimpleWorker):
    def request_force_stop(self, signum, frame):
        _interrupt_the_automation(self)


class RpaWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _import_job_code()

    def fork_work_horse(self, job, queue):
        connections.close_all()
        super().fork_work_horse(job, queue)

    def setup_work_horse_signals(self):
        super().setup_work_horse_signals()
        signal.signal(signal.SIGTERM, lambda signum, frame: _interrupt_the_automation(self))

    def request_force_stop(self, signum, frame):
        # The horse ends its job (see setup_work_horse_signals) and the worker, asked to stop
        # already, exits after it.
        if self.horse_pid:
            self.kill_horse(signal.SIGTERM)


def _interrupt_the_automation(worker) -> None:
    """Inside an automation, stop it; between two steps of rq's or the engine's own bookkeeping,
    let the job reach its end (a moment away): the worker stops right after it."""
    if runner.automation_running():
        worker.log.warning("Worker %s: console stopping, interrupting the running job", worker.name)
        raise ConsoleStopped()


def _import_job_code() -> None:
    import_module("jobs.tasks")
    for kind in settings.JOB_AUTOMATIONS:
        automation_for(kind)
