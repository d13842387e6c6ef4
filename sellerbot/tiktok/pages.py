"""Page objects of TikTok Seller Center: login and its verification code, the comment and message
inboxes, the orders table and the stock table.

They fail the way carriers.pages.Page does (a missing element → "the portal may have changed", a
wait that runs out → timeout) plus the portal's own ways of saying no: a refused login
(SellerAuthError), a code the account needs (VerificationRequired) and a session the portal ends
(SessionExpired).
"""

import re
from dataclasses import dataclass, field

from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from carriers.pages import Page
from jobs.automation import AutomationError

# The highest code point chromedriver can type; beyond it (emoji) a text is set by script.
MAX_TYPABLE_CODE_POINT = 0xFFFF
# Item ids that can go into a CSS attribute selector as they are.
SAFE_ITEM_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class SellerAuthError(AutomationError):
    """The portal refused the login or password: retrying with the same ones will not help."""

    category = "auth"
    permanent = True


class VerificationRequired(AutomationError):
    """The portal asks for a verification code the profile has not given (or refused the one given)."""

    category = "verification"
    permanent = True


class SessionExpired(AutomationError):
    """The portal sent the browser back to its login page after a login that had just worked.

    Permanent: logging in again and again would only look like an attack to the portal.
    """

    category = "session"
    permanent = True


@dataclass(frozen=True)
class SellerRequest:
    portal_url: str
    login: str
    senha: str = field(repr=False)
    codigo: str = field(default="", repr=False)
    region: str = "BR"
    carrier: str = "TikTok Seller Center"

    @property
    def kind(self) -> str:
        return "TIKTOK"


@dataclass(frozen=True)
class InboxItem:
    """An unanswered comment or conversation as the portal shows it."""

    id: str
    author: str
    product: str
    text: str


class SellerPage(Page):
    """What every Seller Center page shares: its header, its one-shot notice, the login redirect."""

    request: SellerRequest

    def go(self, path: str) -> None:
        self.browser.driver.get(self.url(path))
        self.loaded()

    def loaded(self) -> None:
        """Wait for the document to be complete: a click that submits a form does not wait."""
        self.wait.until(lambda driver: driver.execute_script("return document.readyState") == "complete")

    def submit(self, button: WebElement) -> None:
        """Click a button that posts a form, and wait for the page that answers it."""
        current = self.find(By.TAG_NAME, "html")
        button.click()
        self.wait.until(lambda _driver: self.gone(current))
        self.loaded()

    def check_signed_in(self) -> None:
        """Raise SessionExpired when the portal has shown its login page instead of this one."""
        if self.find_all(By.ID, "tt-login-form"):
            notice = self.notice()
            said = notice[1] if notice else "a página de login voltou a aparecer"
            raise SessionExpired(
                f"O {self.request.carrier} encerrou a sessão logo depois do login ({said}); "
                "a automação parou em vez de entrar de novo. Confira a conta no portal e tente mais tarde."
            )

    def notice(self) -> tuple[str, str] | None:
        """The portal's notice after an action: ("ok" | "erro", its text), or None."""
        for element in self.find_all(By.ID, "tt-notice"):
            if element.is_displayed() and element.text.strip():
                return element.get_attribute("data-kind") or "", element.text.strip()
        return None

    def type_into(self, field_element: WebElement, text: str) -> None:
        """Type `text` like a person; chromedriver cannot type emoji, so those texts are set by script."""
        field_element.clear()
        if all(ord(ch) <= MAX_TYPABLE_CODE_POINT for ch in text):
            field_element.send_keys(text)
        else:
            self.browser.driver.execute_script(
                "arguments[0].value = arguments[1];"
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));", field_element, text)


class LoginPage(SellerPage):
    def open(self) -> "LoginPage":
        self.go("entrar")
        self.wait_for(By.ID, "tt-login-form")
        return self

    def sign_in(self, login: str, senha: str) -> "VerificationPage | None":
        """Log in; the verification page when the portal asks for a code, otherwise None."""
        self.fill(By.ID, "tt-login-email", login)
        self.fill(By.ID, "tt-login-password", senha)
        self.click_to_next_page(By.ID, "tt-login-submit")
        self.loaded()
        if self.find_all(By.ID, "tt-code-form"):
            return VerificationPage(self.browser, self.request)
        self.raise_if_alert(".tt-login-error", SellerAuthError)
        return None


class VerificationPage(SellerPage):
    def confirm(self, code: str) -> None:
        self.fill(By.ID, "tt-code", code)
        self.click_to_next_page(By.ID, "tt-code-submit")
        self.loaded()
        if self.find_all(By.ID, "tt-code-form"):
            alerts = [a.text.strip() for a in self.find_all(By.CSS_SELECTOR, ".tt-login-error") if a.text.strip()]
            said = alerts[0] if alerts else "o código não foi aceito"
            raise VerificationRequired(
                f"O {self.request.carrier} recusou o código de verificação ({said}): "
                "verifique o perfil informando um código novo."
            )


class InboxPage(SellerPage):
    """A list of items to answer, one reply form each: comments and conversations alike."""

    path = ""
    what = ""  # the list, as a sentence names it when it is missing
    list_id = ""
    item_class = ""
    id_attribute = ""
    author_class = ""
    product_class = ""
    text_class = ""

    def open(self) -> "InboxPage":
        self.go(self.path)
        return self.ready()

    def ready(self) -> "InboxPage":
        """The list on screen; a list still loading is waited for, a list that is not there is a change."""
        self.check_signed_in()
        if not self.find_all(By.ID, self.list_id):
            if self.find_all(By.ID, "tt-loading"):
                self.wait_for(By.ID, self.list_id)
            self.require(By.ID, self.list_id, self.what)
        return self

    def pending_count(self) -> int:
        badge = self.require(By.ID, "tt-pending-count", "contador de itens sem resposta")
        return int(badge.get_attribute("data-count") or 0)

    def next_pending(self, skip: set[str]) -> InboxItem | None:
        """The first unanswered item on the page that is not in `skip`, or None."""
        for element in self._items('[data-state="pending"]'):
            item_id = element.get_attribute(self.id_attribute) or ""
            if item_id and item_id not in skip:
                return InboxItem(
                    id=item_id,
                    author=self._text(element, self.author_class),
                    product=self._text(element, self.product_class),
                    text=self._text(element, self.text_class),
                )
        return None

    def reply(self, item: InboxItem, text: str) -> str | None:
        """Post `text` as the answer to `item`: None when the portal took it, else what it said."""
        element = self._item(item.id)
        if element is None:
            return "o item não está mais na página"
        self.type_into(element.find_element(By.CSS_SELECTOR, ".tt-reply-text"), text)
        self.submit(element.find_element(By.CSS_SELECTOR, ".tt-reply-send"))
        self.ready()
        notice = self.notice()
        if notice and notice[0] == "ok":
            return None
        return notice[1] if notice else "a página não confirmou o envio"

    def still_pending(self, item_id: str) -> bool:
        """Whether `item_id` is still on the page waiting for an answer (an answered one moves to the end)."""
        element = self._item(item_id)
        return element is not None and element.get_attribute("data-state") == "pending"

    def _items(self, state: str = "") -> list[WebElement]:
        return self.find_all(By.CSS_SELECTOR, f"#{self.list_id} .{self.item_class}[{self.id_attribute}]{state}")

    def _item(self, item_id: str) -> WebElement | None:
        # One lookup by the id itself: asking each item for its id costs a browser round-trip apiece.
        if SAFE_ITEM_ID.fullmatch(item_id):
            selector = f'#{self.list_id} .{self.item_class}[{self.id_attribute}="{item_id}"]'
            found = self.find_all(By.CSS_SELECTOR, selector)
            return found[0] if found else None
        for element in self._items():
            if element.get_attribute(self.id_attribute) == item_id:
                return element
        return None

    @staticmethod
    def _text(element: WebElement, css_class: str) -> str:
        found = element.find_elements(By.CSS_SELECTOR, f".{css_class}")
        return found[0].text.strip() if found else ""


class CommentsPage(InboxPage):
    path = "comentarios"
    what = "painel de comentários"
    list_id = "tt-comment-list"
    item_class = "tt-comment"
    id_attribute = "data-comment-id"
    author_class = "tt-comment-author"
    product_class = "tt-comment-product"
    text_class = "tt-comment-text"


class MessagesPage(InboxPage):
    path = "mensagens"
    what = "painel de mensagens"
    list_id = "tt-conversation-list"
    item_class = "tt-conversation"
    id_attribute = "data-conversation-id"
    author_class = "tt-conversation-customer"
    product_class = "tt-conversation-product"
    text_class = "tt-conversation-last"


class OrdersPage(SellerPage):
    def open(self) -> "OrdersPage":
        self.go("pedidos")
        self.check_signed_in()
        self.require(By.ID, "tt-orders", "quadro de pedidos")
        return self

    def orders(self, limit: int) -> list[dict]:
        """The orders as the table shows them, newest first: id, status, total ("1299.90"), buyer, date."""
        found = []
        for row in self.find_all(By.CSS_SELECTOR, "#tt-orders tbody tr[data-order-id]")[:limit]:
            moment = row.find_element(By.CSS_SELECTOR, ".tt-order-date time")
            found.append({
                "id": row.get_attribute("data-order-id"),
                "status": row.find_element(By.CSS_SELECTOR, ".tt-order-status").text.strip(),
                "total": self.amount(row.find_element(By.CSS_SELECTOR, ".tt-order-total").text),
                "buyer": row.find_element(By.CSS_SELECTOR, ".tt-order-buyer").text.strip(),
                "date": moment.get_attribute("datetime") or moment.text.strip(),
            })
        return found

    @staticmethod
    def amount(text: str) -> str:
        """"R$ 1.299,90" → "1299.90": a decimal that JSON and Decimal read alike."""
        digits = "".join(ch for ch in text if ch.isdigit() or ch == ",")
        reais, _, cents = digits.partition(",")
        return f"{int(reais or 0)}.{(cents + '00')[:2]}"


class StockPage(SellerPage):
    def open(self) -> "StockPage":
        self.go("estoque")
        self.check_signed_in()
        self.require(By.ID, "tt-stock", "quadro de estoque")
        return self

    def skus(self) -> set[str]:
        return {row.get_attribute("data-sku") for row in self._rows()}

    def set_quantity(self, sku: str, quantity: int) -> str | None:
        """Save the new quantity of `sku`: None when the portal took it, else what it said."""
        row = next((r for r in self._rows() if r.get_attribute("data-sku") == sku), None)
        if row is None:
            return "SKU não encontrado na tabela"
        self.type_into(row.find_element(By.CSS_SELECTOR, "input.tt-stock-qty"), str(quantity))
        self.submit(row.find_element(By.CSS_SELECTOR, ".tt-stock-save"))
        self.check_signed_in()
        self.require(By.ID, "tt-stock", "quadro de estoque")
        notice = self.notice()
        if notice and notice[0] == "ok":
            return None
        return notice[1] if notice else "a página não confirmou a alteração"

    def _rows(self) -> list[WebElement]:
        return self.find_all(By.CSS_SELECTOR, "#tt-stock tbody tr[data-sku]")
