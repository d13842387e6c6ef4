"""Real headless Chromium against the dashboard pages, served by daphne (tests.conftest.asgi_server)
with a real rq worker running the scripted automation (tests/automations.py)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from carriers.browser import browser_session
from tests.conftest import WorkerProcesses


@pytest.fixture(scope="module")
def chromium():
    """One browser for the module (its cookies are cleared before each test)."""
    with browser_session() as browser:
        browser.driver.set_window_size(1280, 900)
        yield browser.driver


@pytest.fixture(scope="module")
def dashboard_worker(worker_env):
    workers = WorkerProcesses(worker_env)
    workers.start(1)
    yield workers
    workers.stop_all()


@pytest.fixture
def operator(alice):
    """Alice, staff, allowed to start and retry jobs."""
    alice.user_permissions.add(Permission.objects.get(codename="add_job"))
    return alice


class Dashboard:
    """The browser pointed at the served dashboard, signed in as someone."""

    def __init__(self, driver, server):
        self.driver = driver
        self.server = server
        self.wait = WebDriverWait(driver, 20, poll_frequency=0.1)

    def sign_in(self, user) -> "Dashboard":
        """Hand the browser a session cookie, as if the person had signed in."""
        client = Client()
        client.force_login(user)
        self.driver.get(self.server.url + "/accounts/login/")
        self.driver.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"})
        return self

    def open(self, path: str) -> None:
        self.driver.get(self.server.url + path)

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait_for(self, css: str):
        return self.wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_text(self, css: str, text: str):
        return self.wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def wait_live(self) -> None:
        self.wait.until(lambda d: self.find("#live-status").get_attribute("data-state") == "live")

    def mark_document(self) -> None:
        """A flag on this very document: gone if the page reloads."""
        self.driver.execute_script("window.__sameDocument = true;")

    def same_document(self) -> bool:
        return self.driver.execute_script("return window.__sameDocument === true;")


@pytest.fixture
def dashboard(chromium, asgi_server):
    chromium.delete_all_cookies()
    chromium.execute_cdp_cmd("Network.clearBrowserCache", {})
    return Dashboard(chromium, asgi_server)
