"""A real Selenium Grid 4 for the tests: a hub and its nodes, each a Java process of its own, the
nodes driving Debian's chromium through Debian's chromedriver, all on free local ports.

The server jar comes out of the npm package @nightwatch/selenium-server (`make grid` puts it
under var/grid and installs Java when it is missing); nothing is downloaded here.
"""

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from django.conf import settings

from tests.ports import free_ports

BASE_DIR = Path(__file__).resolve().parent.parent.parent
JAR_DIR = BASE_DIR / "var" / "grid"
INSTALL_COMMAND = "make grid"

# The hub removes a DOWN node (and its sessions) at a purge pass, every 30 s, once the node has
# been DOWN for four heartbeat periods: one-second heartbeats make that the next pass or so.
NODE_HEARTBEAT_SECONDS = 1
START_TIMEOUT_SECONDS = 90
# Short-lived servers with little to do: the quick compiler only and the serial collector start
# them about a third faster, with fewer threads competing for the machine's CPUs.
JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def selenium_server_jar() -> Path | None:
    """The newest selenium-server-<version>.jar under var/grid, or None."""
    jars = sorted(JAR_DIR.glob("selenium-server-*.jar"),
                  key=lambda jar: [int(part) for part in jar.stem.rsplit("-", 1)[1].split(".") if part.isdigit()])
    return jars[-1] if jars else None


def grid_missing() -> str:
    """What is missing to run a Grid on this machine ("" when nothing is)."""
    missing = []
    if shutil.which("java") is None:
        missing.append("java (Debian's default-jre-headless)")
    if selenium_server_jar() is None:
        missing.append(f"the Selenium server jar under {JAR_DIR.relative_to(BASE_DIR)}")
    for path in (settings.CHROMIUM_BINARY, settings.CHROMEDRIVER_PATH):
        if not os.access(path, os.X_OK):
            missing.append(path)
    return ", ".join(missing)


@dataclass
class GridProcess:
    name: str
    port: int
    log: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ({self.url})\n" + "\n".join(text.splitlines()[-lines:])


class SeleniumGrid:
    """A hub and `nodes` nodes of one session each, on 127.0.0.1."""

    def __init__(self, jar: Path, workdir: Path, nodes: int = 2):
        self.jar = jar
        self.workdir = workdir
        hub_port, self.publish_port, self.subscribe_port, *node_ports = free_ports(3 + nodes)
        self.hub = GridProcess("hub", hub_port, workdir / "hub.log")
        self.node_processes = [GridProcess(f"node-{n + 1}", port, workdir / f"node-{n + 1}.log")
                               for n, port in enumerate(node_ports)]
        self.node_config = workdir / "node.toml"
        self.node_config.write_text(_node_toml())
        # chromedriver's profiles and the node's download folders land here, not in /tmp.
        self.tmp = workdir / "tmp"
        self.tmp.mkdir()

    @property
    def url(self) -> str:
        return self.hub.url

    @property
    def node_urls(self) -> list[str]:
        return [node.url for node in self.node_processes]

    def start(self) -> None:
        self._spawn(self.hub, "hub", "--publish-events", f"tcp://127.0.0.1:{self.publish_port}",
                    "--subscribe-events", f"tcp://127.0.0.1:{self.subscribe_port}")
        self.start_missing_nodes()

    def start_missing_nodes(self) -> None:
        """Start every node that is not running (again, at its own port) and wait until all are UP."""
        for node in self.node_processes:
            if not node.alive():
                self._spawn(node, "node", "--config", str(self.node_config),
                            "--hub", self.hub.url, "--grid-url", self.hub.url,
                            "--publish-events", f"tcp://127.0.0.1:{self.publish_port}",
                            "--subscribe-events", f"tcp://127.0.0.1:{self.subscribe_port}",
                            "--heartbeat-period", str(NODE_HEARTBEAT_SECONDS), "--register-cycle", "1")
        self._wait_until_ready()

    def _spawn(self, member: GridProcess, role: str, *args: str) -> None:
        with open(member.log, "ab") as log:
            member.process = subprocess.Popen(
                ["java", *JVM_FLAGS, f"-Djava.io.tmpdir={self.tmp}", "-jar", str(self.jar), role,
                 "--host", "127.0.0.1", "--port", str(member.port), *args],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env={**os.environ, "TMPDIR": str(self.tmp)},
                # The node's chromedriver and chromium join its process group: killing the group is
                # losing the machine, browsers and all.
                start_new_session=True,
            )

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for member in (self.hub, *self.node_processes):
                if not member.alive():
                    raise RuntimeError(f"the Grid's {member.name} exited at start\n{self.tails()}")
            try:
                up = {node["uri"] for node in self.nodes() if node["status"] == "UP"}
            except (requests.RequestException, ValueError, KeyError, TypeError):
                up = set()
            if up == set(self.node_urls):
                return
            time.sleep(0.2)
        raise RuntimeError(f"the Grid was not ready within {START_TIMEOUT_SECONDS} s\n{self.tails()}")

    def query(self, graphql: str) -> dict:
        """The data of a query to the hub's GraphQL endpoint (what the Grid UI shows)."""
        response = requests.post(f"{self.url}/graphql", json={"query": graphql}, timeout=5)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise ValueError(json.dumps(body["errors"]))
        return body["data"]

    def sessions(self) -> list[dict]:
        """The sessions the hub knows of: id and the URI of the node that runs each."""
        return self.query("{ sessionsInfo { sessions { id, nodeUri } } }")["sessionsInfo"]["sessions"]

    def nodes(self) -> list[dict]:
        """The nodes registered with the hub: uri, status (UP, DOWN, DRAINING) and session count."""
        return self.query("{ nodesInfo { nodes { uri, status, sessionCount } } }")["nodesInfo"]["nodes"]

    def kill_node(self, url: str) -> None:
        """Lose a node at once, as a machine that dies: SIGKILL to its Java process and its browsers."""
        node = next(node for node in self.node_processes if node.url == url)
        _kill_group(node, signal.SIGKILL)

    def stop(self) -> None:
        """Stop every process of the Grid: nodes first (they end their browsers), then the hub."""
        for member in (*self.node_processes, self.hub):
            _kill_group(member, signal.SIGTERM)
        for member in (*self.node_processes, self.hub):
            if member.process is None:
                continue
            try:
                member.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(member, signal.SIGKILL)
            # Whatever a node left behind in its group (a chromedriver, a chromium) goes too.
            _kill_group(member, signal.SIGKILL)

    def tails(self) -> str:
        return "\n".join(member.tail() for member in (self.hub, *self.node_processes))


def _kill_group(member: GridProcess, sig: signal.Signals) -> None:
    if member.process is None:
        return
    try:
        os.killpg(member.process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    if sig == signal.SIGKILL:
        member.process.wait(timeout=10)


def _node_toml() -> str:
    """One chromium slot per node; the stereotype names Debian's binaries, so no driver is looked
    for (detect-drivers off, and never Selenium Manager)."""
    stereotype = json.dumps({"browserName": "chrome", "goog:chromeOptions": {"binary": settings.CHROMIUM_BINARY}})
    return f"""\
[node]
detect-drivers = false
selenium-manager = false
max-sessions = 1
enable-managed-downloads = true

[[node.driver-configuration]]
display-name = "chromium"
webdriver-executable = "{settings.CHROMEDRIVER_PATH}"
max-sessions = 1
stereotype = '{stereotype}'
"""
