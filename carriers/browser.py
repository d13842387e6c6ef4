"""The WebDriver factory: headless Chromium from Debian's packages, or a Selenium Grid.

    with browser_session() as browser:
        browser.driver.get(url)
        pdf = browser.wait_for_download(".pdf")

Every session gets a fresh profile (--user-data-dir) and download directory under
BROWSER_TMP_DIR, and ends with the driver quit, every process of the browser killed and both
directories removed: on success, on error, and on the job's time limit alike.

With SELENIUM_REMOTE_URL the browser runs on a Selenium Grid node instead: the session's node
is looked up on the hub (Browser.node) so a job's log can name the machine, and a session that
dies under the job (its node lost, or Chromium gone) is told apart from a portal error
(Browser.lost).

Selenium Manager is never used: it would try to download a browser or driver, and these
machines cannot. The paths come from CHROMIUM_BINARY and CHROMEDRIVER_PATH.
"""

import contextlib
import ctypes
import functools
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
import urllib3
from django.conf import settings
from selenium import webdriver
from selenium.common.exceptions import InvalidSessionIdException, WebDriverException
from selenium.webdriver.chrome.service import Service

from jobs.automation import AutomationError

logger = logging.getLogger(__name__)

# What works on a closed network: no first-run UI, no background downloads or updates.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-breakpad",
    "--window-size=1280,1024",
)
DOWNLOAD_SUFFIXES_IN_PROGRESS = (".crdownload", ".tmp")
PR_SET_CHILD_SUBREAPER = 36

# How a session that no longer exists answers: the Grid hub when the node behind it is gone or
# has ended the session, chromedriver when its Chromium crashed or was killed.
SESSION_GONE_SIGNS = (
    "Connection failure",
    "Connection refused",
    "Unable to execute request for an existing session",
    "Cannot find session",
    "Unable to find session",
    "invalid session id",
    "chrome not reachable",
    "not connected to DevTools",
    "session deleted",
)
# A hub that cannot say where a session runs in this time is in no state to run it either.
GRID_QUERY_TIMEOUT_SECONDS = 5


class BrowserUnavailable(AutomationError):
    category = "config"
    permanent = True


class BrowserLost(AutomationError):
    """The browser went away in the middle of a job: nothing of the page is left to keep, and
    running the job again (on another node) may well succeed."""

    category = "browser"
    permanent = False


@dataclass
class Browser:
    driver: webdriver.Remote
    download_dir: Path
    remote: bool = False
    node: str = ""  # the Grid node running the session, as the hub names it

    def lost(self, exc: BaseException) -> BrowserLost | None:
        """A BrowserLost when the browser is gone: `exc` says so, or the browser no longer answers.

        The second check is for errors that hide the cause, such as a wait that ran out because
        the node behind it died while it polled. None when the browser is still there.
        """
        evidence = exc if _gone(exc) else self._unanswered()
        if evidence is None:
            return None
        if isinstance(evidence, urllib3.exceptions.HTTPError | ConnectionError):
            what = f"o Selenium Grid em {settings.SELENIUM_REMOTE_URL}" if self.remote else "o chromedriver"
            happened = f"{what} deixou de responder"
        elif self.remote:
            node = f"o nó {self.node} do Selenium Grid" if self.node else "o nó do Selenium Grid"
            happened = f"{node} deixou de responder ({_first_line(evidence)})"
        else:
            happened = f"o Chromium deste servidor fechou ({_first_line(evidence)})"
        where = "O navegador remoto" if self.remote else "O navegador"
        return BrowserLost(f"{where} foi perdido no meio da automação: {happened}. Execute o job de novo.")

    def _unanswered(self) -> BaseException | None:
        """The error of the cheapest command when it says the session is gone; None if it answers."""
        try:
            self.driver.current_url  # noqa: B018 - the command is the point, not its value
        except Exception as exc:  # noqa: BLE001 - anything else leaves the first error to explain itself
            return exc if _gone(exc) else None
        return None

    def wait_for_download(self, suffix: str = ".pdf", timeout: float | None = None) -> Path:
        """The first complete file ending in `suffix` in the download directory.

        Raises TimeoutError when none arrives within `timeout` (BROWSER_WAIT_SECONDS).
        """
        deadline = time.monotonic() + (timeout or settings.BROWSER_WAIT_SECONDS)
        while time.monotonic() < deadline:
            found = self._finished_downloads(suffix)
            if found:
                return found[0]
            time.sleep(0.1)
        raise TimeoutError(f"no {suffix} download within {timeout or settings.BROWSER_WAIT_SECONDS} s")

    def _finished_downloads(self, suffix: str) -> list[Path]:
        if self.remote:
            # On a Grid node the file lands on the node: fetch it through the driver.
            names = [n for n in self.driver.get_downloadable_files() if n.endswith(suffix)]
            for name in names:
                self.driver.download_file(name, str(self.download_dir))
        return sorted(
            path for path in self.download_dir.iterdir()
            if path.name.endswith(suffix) and not path.name.endswith(DOWNLOAD_SUFFIXES_IN_PROGRESS)
        )


@contextlib.contextmanager
def browser_session() -> Iterator[Browser]:
    """A fresh headless browser for one job; always torn down, whatever happens inside."""
    _adopt_orphans()
    settings.BROWSER_TMP_DIR.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="job-", dir=settings.BROWSER_TMP_DIR))
    download_dir = workdir / "downloads"
    download_dir.mkdir()
    driver = service = None
    try:
        if settings.SELENIUM_REMOTE_URL:
            driver = _remote_driver(download_dir)
        else:
            driver, service = _local_driver(workdir / "profile", download_dir)
        driver.set_page_load_timeout(settings.BROWSER_PAGE_LOAD_TIMEOUT)
        driver.set_script_timeout(settings.BROWSER_SCRIPT_TIMEOUT)
        remote = bool(settings.SELENIUM_REMOTE_URL)
        node = _grid_node(driver.session_id) if remote else ""
        yield Browser(driver=driver, download_dir=download_dir, remote=remote, node=node)
    finally:
        _teardown(driver, service, workdir)
        shutil.rmtree(workdir, ignore_errors=True)


def _local_driver(profile_dir: Path, download_dir: Path) -> tuple[webdriver.Chrome, Service]:
    for path, package in ((settings.CHROMIUM_BINARY, "chromium"), (settings.CHROMEDRIVER_PATH, "chromium-driver")):
        if not os.access(path, os.X_OK):
            raise BrowserUnavailable(
                f"Navegador indisponível neste servidor: {path} não encontrado "
                f"(instale o pacote Debian '{package}')."
            )
    options = _options(download_dir)
    options.binary_location = settings.CHROMIUM_BINARY
    options.add_argument(f"--user-data-dir={profile_dir}")
    service = Service(executable_path=settings.CHROMEDRIVER_PATH, log_output=os.devnull)
    try:
        return webdriver.Chrome(options=options, service=service), service
    except WebDriverException as exc:
        _kill_process_tree(_service_pid(service))
        raise BrowserUnavailable(f"O navegador não pôde ser iniciado: {exc.msg or exc}") from exc


def _remote_driver(download_dir: Path) -> webdriver.Remote:
    options = _options(download_dir)
    options.enable_downloads = True
    try:
        return webdriver.Remote(command_executor=settings.SELENIUM_REMOTE_URL, options=options)
    except WebDriverException as exc:
        raise BrowserUnavailable(f"O Selenium Grid não atendeu: {exc.msg or exc}") from exc
    except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
        # Not a setting gone wrong for good: a hub that is down or restarting.
        raise BrowserUnavailable(
            f"O Selenium Grid em {settings.SELENIUM_REMOTE_URL} não respondeu: confira SELENIUM_REMOTE_URL "
            "e se o hub está no ar.",
            permanent=False,
        ) from exc


def _grid_node(session_id: str) -> str:
    """The URI of the node that runs `session_id`, from the hub's GraphQL endpoint ("" if unknown)."""
    hub = settings.SELENIUM_REMOTE_URL.rstrip("/").removesuffix("/wd/hub")
    query = {"query": "query ($id: String!) { session (id: $id) { nodeUri } }", "variables": {"id": session_id}}
    try:
        response = requests.post(f"{hub}/graphql", json=query, timeout=GRID_QUERY_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()["data"]["session"]["nodeUri"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        logger.warning("the Selenium Grid at %s did not say which node runs session %s", hub, session_id,
                       exc_info=True)
        return ""


def _gone(exc: BaseException) -> bool:
    """Whether `exc` says the session is gone, or its server (hub or chromedriver) is."""
    if isinstance(exc, InvalidSessionIdException | urllib3.exceptions.HTTPError | ConnectionError):
        return True
    return isinstance(exc, WebDriverException) and any(sign in (exc.msg or "") for sign in SESSION_GONE_SIGNS)


def _first_line(exc: BaseException) -> str:
    text = (getattr(exc, "msg", None) or str(exc) or type(exc).__name__).strip()
    return text.splitlines()[0][:160]


def _options(download_dir: Path) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(download_dir),
        "download.prompt_for_download": False,
        "download.directory_upgrade": True,
        # A PDF link downloads the file instead of opening the viewer.
        "plugins.always_open_pdf_externally": True,
        "safebrowsing.enabled": False,
    })
    return options


def _teardown(driver, service: Service | None, workdir: Path) -> None:
    driver_pid = _service_pid(service)
    # The processes to kill if quit() leaves any: read before quit(), while the tree is intact.
    # A chromedriver that died has left its browser to us, no longer below it: that browser is
    # known by its profile, which lives in this session's workdir.
    tree = [*_descendants(driver_pid), *_processes_mentioning(str(workdir))] if driver_pid else []
    if driver is not None:
        try:
            driver.quit()
        except Exception:  # noqa: BLE001 - the kill below is what guarantees the end
            logger.warning("driver.quit() failed; killing the browser processes", exc_info=True)
    if driver_pid:
        _kill_pids([driver_pid, *dict.fromkeys(tree)])


def _service_pid(service: Service | None) -> int | None:
    process = getattr(service, "process", None)
    return process.pid if process is not None else None


def _kill_process_tree(pid: int | None) -> None:
    if pid:
        _kill_pids([pid, *_descendants(pid)])


def _kill_pids(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    # chromedriver is our child, and so is every browser process orphaned on the way (see
    # _adopt_orphans): reap them, or they stay behind as zombies.
    pending, deadline = set(pids), time.monotonic() + 2
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not ours, or already reaped
                done = pid
            if done:
                pending.discard(pid)
        if pending:
            time.sleep(0.02)


@functools.cache
def _adopt_orphans() -> None:
    """Make this process the reaper of its orphaned descendants (Linux PR_SET_CHILD_SUBREAPER).

    Chromium's helper processes outlive their parent by a moment when the browser quits; they
    would be handed to PID 1, which in a container often never reaps them.
    """
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _processes_mentioning(text: str) -> list[int]:
    """Every process whose command line holds `text`, read from /proc."""
    found = []
    needle = text.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _descendants(root: int) -> list[int]:
    """Every process below `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
