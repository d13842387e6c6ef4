"""The WebDriver factory: a fresh headless browser per job, always torn down completely."""

import os
import signal

import pytest
from selenium.common.exceptions import NoSuchElementException, TimeoutException

from carriers.browser import BrowserUnavailable, _descendants, browser_session
from tests.carriers.conftest import browser_processes
from tests.carriers.helpers import run_carrier_job
from tests.conftest import WorkerProcesses
from tests.ports import free_port

pytestmark = pytest.mark.browser


def test_a_session_gets_its_own_profile_and_downloads_and_leaves_nothing(settings, tmp_path):
    settings.BROWSER_TMP_DIR = tmp_path
    with browser_session() as browser:
        browser.driver.get("data:text/html,<title>ok</title><p id=p>olá</p>")
        assert browser.driver.title == "ok"
        assert browser.download_dir.is_dir() and browser.download_dir.parent.parent == tmp_path
        workdir = browser.download_dir.parent
        assert browser_processes(), "the browser should be running inside the session"
        assert any(str(workdir / "profile") in command for command in browser_processes())
    assert browser_processes() == []
    assert list(tmp_path.iterdir()) == []


def test_the_browser_is_torn_down_when_the_automation_raises(settings, tmp_path):
    settings.BROWSER_TMP_DIR = tmp_path
    with pytest.raises(RuntimeError, match="quebrou"), browser_session() as browser:
        browser.driver.get("data:text/html,<p>x</p>")
        raise RuntimeError("quebrou")
    assert browser_processes() == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("killed", "message"), [
    ("chromium", "O navegador foi perdido no meio da automação: o Chromium deste servidor fechou (invalid session id"),
    ("chromedriver", "O navegador foi perdido no meio da automação: o chromedriver deixou de responder."),
])
def test_a_browser_killed_mid_session_is_told_apart_as_lost(settings, tmp_path, killed, message):
    settings.BROWSER_TMP_DIR = tmp_path
    with browser_session() as browser:
        browser.driver.get("data:text/html,<p id=p>olá</p>")
        assert browser.lost(NoSuchElementException("no such element")) is None  # it still answers
        chromedriver = browser.driver.service.process.pid
        for pid in _descendants(chromedriver) if killed == "chromium" else [chromedriver]:
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(Exception) as raised:  # noqa: B017 - whatever the driver raises is the input
            browser.driver.find_element("id", "p")
        lost = browser.lost(raised.value)
        # A wait that ran out hides the cause: the browser's silence tells it.
        hidden = browser.lost(TimeoutException())
    assert lost is not None and lost.message.startswith(message), lost
    assert lost.category == "browser" and not lost.permanent
    assert hidden is not None and hidden.message.startswith(message), hidden
    assert browser_processes() == []


def test_a_grid_that_does_not_answer_is_named_and_worth_a_retry(settings, tmp_path):
    settings.BROWSER_TMP_DIR = tmp_path
    settings.SELENIUM_REMOTE_URL = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BrowserUnavailable) as raised, browser_session():
        pass
    assert raised.value.message == (f"O Selenium Grid em {settings.SELENIUM_REMOTE_URL} não respondeu: confira "
                                    "SELENIUM_REMOTE_URL e se o hub está no ar.")
    assert raised.value.category == "config" and not raised.value.permanent
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("setting", "package"), [("CHROMIUM_BINARY", "chromium"),
                                                   ("CHROMEDRIVER_PATH", "chromium-driver")])
def test_a_missing_browser_names_the_debian_package_to_install(settings, tmp_path, setting, package):
    settings.BROWSER_TMP_DIR = tmp_path
    setattr(settings, setting, "/nao/existe/binario")
    with pytest.raises(BrowserUnavailable) as raised, browser_session():
        pass
    assert raised.value.category == "config"
    assert raised.value.message == ("Navegador indisponível neste servidor: /nao/existe/binario não encontrado "
                                    f"(instale o pacote Debian '{package}').")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_job_stopped_by_its_time_limit_mid_browser_leaves_no_browser(carrier_env, alice_api, settings):
    settings.RPA_JOB_TIMEOUT = 4
    workers = WorkerProcesses(carrier_env)
    # The portal never shows the invoice and the automation would wait 60 s: the job's limit hits first.
    workers.start(1, RPA_JOB_TIMEOUT=4, BROWSER_WAIT_SECONDS=60)
    try:
        job, status = run_carrier_job(alice_api, "OI", filtro="99999999", timeout=60)
    finally:
        workers.stop_all()
    assert status["status"] == "FAILED"
    assert job.error_category == "timeout"
    assert status["error"] == "Tempo limite de execução excedido (4 s)."
    assert browser_processes() == []
