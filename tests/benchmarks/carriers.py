"""`make bench` (second part): browser start-up and one sandbox invoice download per carrier.

    .venv/bin/python -m tests.benchmarks.carriers [--runs 3] [--starts 5]

One daphne serves the application with its sandbox portals (SQLite and a private Redis in a
temporary VAR_DIR unless DATABASE_URL / REDIS_URL are set). In this process, with the same
settings, it times:

- browser start-up: entering carriers.browser.browser_session() (Chromium and chromedriver up,
  ready for a first page) and leaving it (quit, processes killed and reaped), `--starts` times;
- each carrier automation's run(ctx) on the demo account, `--runs` times: login, search,
  download, PDF check and storage; SAT in both delivery modes with an invoice put in storage.

Wall times, in seconds, with the median; nothing is asserted. The figures are the baseline later
work compares against (a faster portal flow, a pooled browser, a Selenium Grid).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from tests.benchmarks.run import MANAGE, PYTHON, Processes, _free_port, wait_http

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CARRIERS = ("OI", "VIVO", "EMBRATEL", "DIGITALNET")
DEMO_PARAMS = {"filtro": "12345678", "cnpj": "12.345.678/0001-95"}
DEMO_SECRETS = {"login": "cliente@empresa.com.br", "senha": "sandbox123"}
SAT_FILE = "fatura_bench_202401.pdf"
SAT_PARAMS = {
    "cnpj": "12.345.678/0001-95", "razao": "EMPRESA EXEMPLO LTDA", "operadora": "OI", "nome_filtro": "OI FIXO",
    "unidade": "UNIDADE CENTRAL", "servico": "TELEFONIA", "dados_sat": "DADOS_SAT_EXEMPLO",
    "nome_arquivo": SAT_FILE, "data_vencimento": "15/02/2024",
}


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="console-bench-carriers-"))
    procs = Processes(tmp)
    try:
        port = _serve(procs, tmp)
        print(f"Sandbox portals served by daphne on 127.0.0.1:{port}; CPUs: {os.cpu_count()}", flush=True)
        _bench_browser_start(args.starts)
        _bench_downloads(args.runs)
    finally:
        procs.stop_all()
    return 0


def _serve(procs: Processes, tmp: Path) -> int:
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "project.settings.base", "DJANGO_DEBUG": "0",
           "SANDBOX_PORTALS": "1", "VAR_DIR": str(tmp / "var"), "MEDIA_ROOT": str(tmp / "media"),
           "SANDBOX_BASE_URL": f"http://127.0.0.1:{port}", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    if not env.get("REDIS_URL"):
        from project.localredis import start_private_redis

        env["REDIS_URL"] = start_private_redis()
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "DJANGO_DEBUG", "SANDBOX_PORTALS", "VAR_DIR",
                                          "MEDIA_ROOT", "SANDBOX_BASE_URL", "LOG_LEVEL", "REDIS_URL")})
    import subprocess

    subprocess.run([*MANAGE, "migrate", "--no-input", "-v", "0"], env=env, cwd=BASE_DIR, check=True, timeout=120)
    process = procs.start("daphne", [PYTHON, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                     "project.asgi:application"], env)
    wait_http(port, "/sandbox/oi/entrar", [process])

    import django

    django.setup()
    return port


def _bench_browser_start(starts: int) -> None:
    from carriers.browser import browser_session

    opened, closed = [], []
    for _ in range(starts):
        began = time.perf_counter()
        with browser_session() as browser:
            browser.driver.get("about:blank")
            opened.append(time.perf_counter() - began)
            leaving = time.perf_counter()
        closed.append(time.perf_counter() - leaving)
    print(f"\nBrowser start-up ({starts} runs), s: start p50 {statistics.median(opened):.2f} "
          f"(min {min(opened):.2f}, max {max(opened):.2f});  teardown p50 {statistics.median(closed):.2f}",
          flush=True)


def _bench_downloads(runs: int) -> None:
    from django.conf import settings
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.test import override_settings

    from carriers.sandbox.common import DEMO_CNPJ, Invoice, invoice_pdf

    invoice = Invoice("OI", "12345678", DEMO_CNPJ, "EMPRESA EXEMPLO LTDA", "202401")
    default_storage.save(f"{settings.INVOICE_STORAGE_DIR}/{SAT_FILE}", ContentFile(invoice_pdf(invoice)))
    cases = [(kind, kind, DEMO_PARAMS, DEMO_SECRETS, {}) for kind in CARRIERS]
    cases += [("SAT (browser)", "SAT", SAT_PARAMS, {}, {"SAT_DELIVERY": "browser"}),
              ("SAT (api)", "SAT", SAT_PARAMS, {}, {"SAT_DELIVERY": "api"})]
    print(f"\nOne sandbox job per automation ({runs} runs each), wall time in s", flush=True)
    print(f"{'automation':<16}{'p50':>7}{'min':>7}{'max':>7}  result", flush=True)
    for label, kind, params, secrets, overrides in cases:
        times, result = [], ""
        with override_settings(**overrides):
            for _ in range(runs):
                began = time.perf_counter()
                result = _run_automation(kind, params, secrets)
                times.append(time.perf_counter() - began)
        print(f"{label:<16}{statistics.median(times):>7.2f}{min(times):>7.2f}{max(times):>7.2f}  {result}",
              flush=True)


def _run_automation(kind: str, params: dict, secrets: dict) -> str:
    from jobs.automation import AutomationError, JobContext, automation_for

    context = JobContext(job_id=uuid.uuid4(), kind=kind, params=params, secrets=secrets, reporter=_QuietReporter())
    try:
        return automation_for(kind)(context)
    except AutomationError as exc:
        return f"FAILED ({exc.category}): {exc.message}"


class _QuietReporter:
    def progress(self, job_id, percent, message):
        pass

    def log(self, job_id, level, message):
        pass

    def artifact(self, job_id, name, content):
        return name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, choices=range(1, 21), metavar="1-20",
                        help="jobs per automation")
    parser.add_argument("--starts", type=int, default=5, choices=range(1, 51), metavar="1-50",
                        help="browser start-ups")
    return parser


if __name__ == "__main__":
    sys.exit(main())
