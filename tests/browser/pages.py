"""Helpers for driving the inbox: pages that fail on script errors, signing in, finding things."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, ConsoleMessage, Error, Locator, Page, expect

from tests.support.clients import PASSWORDS, inbound, post_inbound

TIMEOUT_MS = 10_000
AXE = Path(__file__).parent / "vendor" / "axe-core-4.10.3.min.js"
AXE_SHA256 = "880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARTIFACTS = Path(os.environ.get("PUENTE_ARTIFACTS", "/tmp"))


@contextmanager
def open_page(browser: Browser, base_url: str, name: str = "page", locale: str = "en-US") -> Iterator[Page]:
    """A page in a fresh browser context (its own cookies) whose language is `locale`. Uncaught
    script errors fail the test; a screenshot is left in $PUENTE_ARTIFACTS when the test body raised."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1360, "height": 820}, locale=locale)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))

    def on_console(msg: ConsoleMessage) -> None:
        # The browser logs failed requests itself; a 401 before sign-in is expected.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    try:
        yield page
    except BaseException:
        screenshot(page, name)
        raise
    finally:
        context.close()
    assert not errors, errors


def screenshot(page: Page, name: str) -> None:
    try:
        page.screenshot(path=str(ARTIFACTS / f"puente-{name}.png"), full_page=True)
    except Error:
        pass


def sign_in(page: Page, login: str) -> Page:
    """Sign in through the real form and wait until the inbox is live."""
    page.goto("/")
    page.get_by_test_id("login-input").fill(login)
    page.get_by_test_id("password-input").fill(PASSWORDS[login])
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()
    expect(page.get_by_test_id("connection-status")).to_have_attribute("data-state", "live")  # in any language
    return page


def send_inbound(integration: httpx.Client, text: str, pid: str, address: str, **extra: Any) -> dict[str, Any]:
    """A patient's message through the API channel; returns the hub's answer (seq, patient and conversation ids)."""
    name = extra.pop("name", None)
    body = inbound(text, pid, address=address, **extra)
    if name:
        body["from"]["name"] = name
    r = post_inbound(integration, body)
    assert r.status_code == 201, r.text
    return r.json()


def row(page: Page, conversation_id: int) -> Locator:
    """The conversation's row in the list."""
    return page.locator(f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]')


def event(page: Page, text: str) -> Locator:
    """Timeline events whose text is exactly `text`."""
    return page.get_by_test_id("timeline-event").filter(
        has=page.get_by_test_id("event-text").get_by_text(text, exact=True)
    )


def check_accessibility(page: Page, where: str = "") -> None:
    """axe-core's WCAG 2.x A and AA rules on the page as it is now; every violation, with the
    elements it names, fails the test."""
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, f"{AXE.name} is not the file vendored"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source.decode())  # through the debugger protocol: the page's CSP does not apply
    result = page.evaluate("tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })", WCAG)
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(str(n['target']) for n in v['nodes'][:5])}"
        for v in result["violations"]
    ]
    assert not problems, f"accessibility {where}:\n" + "\n".join(problems)
