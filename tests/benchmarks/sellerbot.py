"""`make bench` (sixth part): a 20-reply reply_comments run, and the browser's share of it.

    .venv/bin/python -m tests.benchmarks.sellerbot [--runs 3] [--replies 20]

One daphne serves the application with the TikTok sandbox (SQLite and a private Redis in a
temporary VAR_DIR unless DATABASE_URL / REDIS_URL are set). Two figures per run, both with
`--replies` unanswered comments waiting and no delay between replies:

- browser: sellerbot.tiktok.automation.reply_comments(ctx) called in this process with a kept
  session: the browser's work alone (start Chromium, open the inbox, answer, close);
- whole run: the same work as a task of the Seller Bot, from services.task_create() to the run
  recorded as finished: the bot worker's dispatch (it beats every BOT_WORKER_TICK_MS, set to
  500 here), the queue, the job engine (leases, progress and log lines), the browser, and the
  finish hook.

The browser's share is browser ÷ whole run, measured in the same process against the same
sandbox, so the figure holds whatever the machine's speed. Nothing is asserted.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.benchmarks.carriers import _QuietReporter, _serve
from tests.benchmarks.run import MANAGE, Processes

TICK_MS = 500


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="console-bench-sellerbot-"))
    procs = Processes(tmp)
    try:
        port = _serve(procs, tmp)
        env = {**os.environ, "BOT_WORKER_TICK_MS": str(TICK_MS), "PYTHONUNBUFFERED": "1"}
        procs.start("sellerbot-worker", [*MANAGE, "sellerbot_worker", "-v", "0"], env)
        print(f"TikTok sandbox served by daphne on 127.0.0.1:{port}; CPUs: {os.cpu_count()}; "
              f"{args.replies} replies a run, {args.runs} runs", flush=True)
        browser, whole = _bench(args.runs, args.replies)
    finally:
        procs.stop_all()
    share = statistics.median(browser) / statistics.median(whole)
    print(f"\n{'path':<34}{'p50 s':>8}{'min':>7}{'max':>7}{'per reply ms':>14}", flush=True)
    for label, times in (("browser (automation alone)", browser), ("whole run (task → run finished)", whole)):
        print(f"{label:<34}{statistics.median(times):>8.2f}{min(times):>7.2f}{max(times):>7.2f}"
              f"{1000 * statistics.median(times) / args.replies:>14.0f}", flush=True)
    print(f"browser's share of the whole run: {share:.2f}  (engine, dispatch and bookkeeping: {1 - share:.2f})",
          flush=True)
    return 0


def _bench(runs: int, replies: int) -> tuple[list[float], list[float]]:
    from django.contrib.auth import get_user_model

    from jobs.automation import JobContext
    from sellerbot import services
    from sellerbot.models import BotTaskRun
    from sellerbot.sandbox import store
    from sellerbot.tiktok import automation

    store.reset()
    secrets = {"login": store.DEMO_LOGIN, "senha": store.PASSWORD, "codigo": store.VERIFICATION_CODE}
    params = {"task_id": None, "profile_id": 0, "task_type": "verify", "region": "BR", "config": {}}
    secrets["cookies"] = automation.verify(_context(JobContext, "tiktok.verify", params, secrets)).cookies

    config = {"max_replies": replies, "delay_seconds": 0}
    browser = []
    for _ in range(runs):
        store.add_comments(store.DEMO_LOGIN, replies)
        context = _context(JobContext, "tiktok.reply_comments",
                           {**params, "task_type": "reply_comments", "config": config}, secrets)
        began = time.perf_counter()
        outcome = automation.reply_comments(context)
        browser.append(time.perf_counter() - began)
        assert outcome.summary["replies_sent"] == replies, outcome.summary

    user = get_user_model().objects.create_user(f"bench-{uuid.uuid4().hex[:6]}", password=uuid.uuid4().hex)
    profile = services.profile_create(owner=user, name="Bench", username=store.DEMO_LOGIN, password=store.PASSWORD,
                                      verification_code=store.VERIFICATION_CODE)
    services.profile_session_save(profile_id=profile.pk, cookies=secrets["cookies"])
    services.worker_start(user=user)
    whole = []
    for _ in range(runs):
        store.add_comments(store.DEMO_LOGIN, replies)
        began = time.perf_counter()
        task = services.task_create(owner=user, profile=profile, task_type="reply_comments", config=config)
        run = _wait_finished(BotTaskRun, task.pk)
        whole.append(time.perf_counter() - began)
        assert run.replies_sent == replies, (run.status, run.error)
    services.worker_stop(user=user)
    return browser, whole


def _context(context_class, kind: str, params: dict, secrets: dict):
    return context_class(job_id=uuid.uuid4(), kind=kind, params=params, secrets=secrets, reporter=_QuietReporter())


def _wait_finished(run_model, task_id: int, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = run_model.objects.filter(task_id=task_id, finished_at__isnull=False).first()
        if run is not None:
            return run
        time.sleep(0.02)
    raise TimeoutError(f"the run of task {task_id} did not finish within {timeout} s")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, choices=range(1, 21), metavar="1-20")
    parser.add_argument("--replies", type=int, default=20, choices=range(1, 201), metavar="1-200")
    return parser


if __name__ == "__main__":
    sys.exit(main())
