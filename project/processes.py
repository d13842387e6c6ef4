"""What `make run`'s supervisor says about its processes (var/processes.json).

The supervisor rewrites the file every few seconds and removes it when it stops. A file older
than STALE_SECONDS belongs to a supervisor that is gone, and says nothing. Without a supervisor
(production, where something else runs the processes) there is nothing to report.
"""

import json
import time
from dataclasses import dataclass

from django.conf import settings

STATE_FILE = "processes.json"
STALE_SECONDS = 30


@dataclass(frozen=True)
class SupervisedProcesses:
    failing: list[str]  # children that keep crashing, by name
    workers_expected: int  # rq workers the supervisor runs
    workers_running: int  # of those, the ones whose process is up now


def processes_get() -> SupervisedProcesses | None:
    """The supervisor's latest report, or None when no supervisor is running this console."""
    try:
        state = json.loads((settings.VAR_DIR / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or time.time() - float(state.get("updated_at", 0)) > STALE_SECONDS:
        return None
    children = [child for child in state.get("processes", []) if isinstance(child, dict)]
    return SupervisedProcesses(
        failing=[str(child.get("name")) for child in children if child.get("state") == "failing"],
        workers_expected=sum(1 for child in children if child.get("kind") == "worker"),
        workers_running=sum(1 for child in children if child.get("kind") == "worker" and child.get("pid")),
    )
