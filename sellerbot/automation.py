"""The engine's entry for every `tiktok.*` job: the run's start and the browser work.

The browser work is in sellerbot/tiktok/ (page objects of the Seller Center); this wrapper marks
the task run as started (or withdraws it, when the bot was switched off meanwhile), keeps the
session of a successful login on the profile, encrypted, and returns the run's summary as the
job's result. The run's end is recorded by services.job_finished, called by the engine.
"""

import json

from jobs.automation import JobContext
from sellerbot import services


def run(ctx: JobContext) -> str:
    from sellerbot.tiktok import automation

    if ctx.params.get("task_id") is not None:
        services.task_run_started(job_id=ctx.job_id)
    outcome = getattr(automation, ctx.params["task_type"])(ctx)
    if outcome.cookies is not None:
        services.profile_session_save(profile_id=ctx.params["profile_id"], cookies=outcome.cookies)
    return json.dumps(outcome.summary, ensure_ascii=False)
