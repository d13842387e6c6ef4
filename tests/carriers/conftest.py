"""Real Chromium against the sandbox portals, through the whole engine.

The sandbox portals are served by pytest-django's live server (the application itself, in a
thread of the test process); rq workers run the real carrier automations
(TEST_CARRIER_AUTOMATIONS=1) with the portal URLs pointed at it.
"""

import os
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from tests.conftest import WorkerProcesses


@pytest.fixture(scope="module")
def carrier_media(tmp_path_factory):
    """A storage directory of the module's own, shared by the test process and its workers."""
    media = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=str(media)):
        yield media


@pytest.fixture(scope="module")
def carrier_env(worker_env, live_server, carrier_media):
    return {
        **worker_env,
        "MEDIA_ROOT": str(carrier_media),
        "TEST_CARRIER_AUTOMATIONS": "1",
        "SANDBOX_BASE_URL": live_server.url,
        "BROWSER_WAIT_SECONDS": "4",
    }


@pytest.fixture(scope="module")
def carrier_workers(carrier_env):
    """Two workers running the real automations, shared by a test module."""
    workers = WorkerProcesses(carrier_env)
    workers.start(2)
    yield workers
    workers.stop_all()


# Every process this test run starts (workers, chromedriver, chromium) inherits this variable,
# so browser_processes() sees this run's browsers only, not those of anything else on the machine.
TEST_RUN_MARKER = f"CONSOLE_TEST_RUN={os.environ.setdefault('CONSOLE_TEST_RUN', uuid.uuid4().hex)}".encode()


def browser_processes() -> list[str]:
    """Command lines of this test run's live (not zombie) chromium and chromedriver processes."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if state == "Z" or ("chromium" not in command and "chromedriver" not in command):
                continue
            if TEST_RUN_MARKER in (entry / "environ").read_bytes().split(b"\0"):
                found.append(command)
        except OSError:
            continue
    return found
