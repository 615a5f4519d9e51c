"""The browser the UI tests drive: Debian's Chromium through Playwright, never a download."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Request, expect, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 90_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; a browser is never downloaded."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does it)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in(browser: Browser, url: str, token: str, height: int = 1000,
              on_request: Callable[[Request], None] | None = None) -> Page:
    """A page of its own browser context on `url`'s "/", signed in through the sign-in form with
    `token` and showing the chat (`on_request` sees every request, the first one included).
    Close it with `page.context.close()`."""
    page = browser.new_context(viewport={"width": 1400, "height": height}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    if on_request is not None:
        page.on("request", on_request)
    page.goto(url + "/")  # sent to the sign-in form first
    page.locator("#token").fill(token)
    page.locator("#sign-in").click()
    expect(page.locator("#question textarea")).to_be_visible()
    return page
