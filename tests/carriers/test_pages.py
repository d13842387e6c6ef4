"""Page objects: recognising a page that has gone, however chromedriver words it."""

import pytest
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException

from carriers.pages import Page


class OldPageElement:
    """Stands in for the WebElement of a page that is being replaced; answers as chromedriver did."""

    def __init__(self, answer: Exception | None):
        self.answer = answer

    def is_enabled(self) -> bool:
        if self.answer:
            raise self.answer
        return True


@pytest.mark.parametrize(
    "answer",
    [
        StaleElementReferenceException("stale element reference: element is not attached to the page document"),
        NoSuchElementException("no such element"),
        WebDriverException(
            'unknown error: unhandled inspector error: {"code":-32000,'
            '"message":"Node with given id does not belong to the document"}'
        ),
        WebDriverException(
            'unknown error: unhandled inspector error: {"code":-32000,"message":"No node with given id found"}'
        ),
    ],
)
def test_every_way_chromedriver_says_the_old_page_is_gone_counts_as_gone(answer):
    assert Page.gone(OldPageElement(answer)) is True


def test_an_element_still_in_the_document_is_not_gone():
    assert Page.gone(OldPageElement(None)) is False


def test_any_other_browser_error_is_raised_not_taken_for_a_new_page():
    with pytest.raises(WebDriverException, match="chrome not reachable"):
        Page.gone(OldPageElement(WebDriverException("chrome not reachable")))
