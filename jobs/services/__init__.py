"""The verbs of the job engine, one module per concern:

- lifecycle: create, start, progress, log, finish (the state machine lives here)
- runner: run a job on a worker (leases, heartbeat, the automation)
- callbacks: the processo API outbox
- maintenance: reap dead jobs, purge old ones
"""
