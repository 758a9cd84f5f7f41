"""Playwright on Debian's Chromium: one browser per session, a fresh context per test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.pages import TIMEOUT_MS, open_page, screenshot
from tests.support.server import HubServer
from tests.support.services import REQUIRED

CHROMIUM = os.environ.get("PUENTE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module-scoped: Playwright's sync API keeps an event loop running in this thread while it
    # is open, which would break the asyncio tests that run after the browser modules.
    if not Path(CHROMIUM).exists():
        if REQUIRED:  # CI: the browser tests are not optional
            pytest.fail(f"no Chromium at {CHROMIUM} and PUENTE_REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, hub_server: HubServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A signed-out page on the test hub; a screenshot is kept when the test fails."""
    with open_page(browser, hub_server.base_url, request.node.name) as pg:
        yield pg
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            screenshot(pg, request.node.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
