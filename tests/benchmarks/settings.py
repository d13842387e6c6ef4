"""Settings for `make bench` (tests/benchmarks/run.py): the normal wiring plus a trivial view.

Everything comes from project.settings.base (DATABASE_URL, REDIS_URL, VAR_DIR as usual). The
benchmark adds a `bench/trivial` JSON view as the baseline, registers the scripted no-op
automation for every job kind, and runs with DEBUG off, as production does.
"""

from project.env import env_bool
from project.settings.base import *  # noqa: F403

ROOT_URLCONF = "tests.benchmarks.urls"
DEBUG = env_bool("DJANGO_DEBUG", False)

# tests.automations.scripted with a filtro of no known step ("noop") returns at once: the job
# engine without a browser.
JOB_AUTOMATIONS = {kind: "tests.automations.scripted" for kind in ("OI", "VIVO", "EMBRATEL", "DIGITALNET", "SAT")}
