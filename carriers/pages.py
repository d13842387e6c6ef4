"""The base of every page object: waits and actions that fail in ways invoices.py understands.

A missing element raises NoSuchElementException (→ "the portal may have changed"), a wait that
runs out raises TimeoutException (→ timeout), and an alert shown by the portal becomes the
AutomationError the page object names (e.g. CarrierAuthError for a refused login).
"""

from django.conf import settings
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from carriers.browser import Browser
from carriers.invoices import InvoiceRequest
from jobs.automation import AutomationError

# How chromedriver words a node of a document that is no longer there, when it does not say "stale".
DETACHED_NODE_ERRORS = ("does not belong to the document", "No node with given id")


class Page:
    def __init__(self, browser: Browser, request: InvoiceRequest):
        self.browser = browser
        self.request = request
        self.wait = WebDriverWait(browser.driver, settings.BROWSER_WAIT_SECONDS, poll_frequency=0.1)

    def url(self, path: str = "") -> str:
        return self.request.portal_url.rstrip("/") + "/" + path.lstrip("/")

    def find(self, by: str, value: str) -> WebElement:
        return self.browser.driver.find_element(by, value)

    def find_all(self, by: str, value: str) -> list[WebElement]:
        return self.browser.driver.find_elements(by, value)

    def wait_for(self, by: str, value: str) -> WebElement:
        return self.wait.until(ec.presence_of_element_located((by, value)))

    def wait_clickable(self, by: str, value: str) -> WebElement:
        return self.wait.until(ec.element_to_be_clickable((by, value)))

    def wait_any(self, *locators: tuple[str, str]) -> WebElement:
        """The first of several elements to appear: e.g. the next page, or an error alert.

        Not Selenium's any_of: it swallows every WebDriver error, so a browser lost mid-wait would
        look like a portal that never answered. find_elements raises only when something is wrong.
        """
        def first_present(driver) -> WebElement | bool:
            for by, value in locators:
                found = driver.find_elements(by, value)
                if found:
                    return found[0]
            return False

        return self.wait.until(first_present)

    def fill(self, by: str, value: str, text: str) -> None:
        field = self.wait_for(by, value)
        field.clear()
        field.send_keys(text)

    def click(self, by: str, value: str) -> None:
        self.wait_clickable(by, value).click()

    def click_to_next_page(self, by: str, value: str) -> None:
        """Click something that loads a new page, and wait until the old one is gone."""
        current = self.find(By.TAG_NAME, "html")
        self.click(by, value)
        self.wait.until(lambda _driver: self.gone(current))

    @staticmethod
    def gone(element: WebElement) -> bool:
        """Whether `element` has left the document (Selenium's staleness_of, made robust).

        While the old document is being torn down, chromedriver sometimes answers with an "unknown
        error: Node with given id does not belong to the document" (or no such element) instead of
        a stale element reference; all three mean the page is gone.
        """
        try:
            element.is_enabled()
        except (StaleElementReferenceException, NoSuchElementException):
            return True
        except WebDriverException as exc:
            if any(sign in (exc.msg or "") for sign in DETACHED_NODE_ERRORS):
                return True
            raise
        return False

    def raise_if_alert(self, css: str, error: type[AutomationError]) -> None:
        """Turn the portal's own error message (if shown) into `error`, quoting the portal."""
        alerts = [a for a in self.find_all(By.CSS_SELECTOR, css) if a.is_displayed() and a.text.strip()]
        if alerts:
            portal = self.request.carrier
            raise error(f"Falha de autenticação no {portal}: {alerts[0].text.strip()}"
                        if error.category == "auth" else f"O {portal} informou: {alerts[0].text.strip()}")

    def require(self, by: str, value: str, what: str) -> WebElement:
        """An element the flow depends on; its absence means the page is not the one expected."""
        elements = self.find_all(by, value)
        if not elements:
            raise NoSuchElementException(f"{what} ({value}) não encontrado")
        return elements[0]

    @staticmethod
    def digits(text: str) -> str:
        return "".join(ch for ch in text if ch.isdigit())

    @property
    def request_cnpj(self) -> str:
        d = self.request.cnpj
        return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"
