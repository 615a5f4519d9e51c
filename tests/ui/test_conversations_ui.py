"""Saved conversations and roles in a real browser: Debian's Chromium driven by Playwright, a
real server with a users file (an admin and a reader), reloaded and restarted on one home."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from assistant.users import add_user
from tests.conftest import ROOT
from tests.live_server import LiveServer, start_server, stop_server
from tests.ui.conftest import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

ANSWERED = "Who is the CENTCOM chief?"
FOLLOW_UP = "What does he expect?"
SCREENSHOT = ROOT / "docs" / "conversations.png"


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    path = tmp_path_factory.mktemp("users") / "users.toml"
    return {"file": str(path), "admin": add_user(path, "ada", "admin"), "reader": add_user(path, "rita", "reader")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tokens: dict[str, str]) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("ui-conversations") / "home", {"ASSISTANT_USERS": tokens["file"]})
    yield live
    stop_server(live)


def _sign_in(browser: Browser, server: LiveServer, token: str) -> Page:
    return signed_in(browser, server.url, token)


def _ask(page: Page, question: str, turn: int) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    expect(page.locator(f'#chat a.cite[href^="#source-{turn}-"]').first).to_be_visible()


def _listed(page: Page):
    return page.locator("#conversations label")


def test_a_reload_keeps_the_conversation_and_opening_it_restores_turns_and_sources(
        browser: Browser, server: LiveServer, tokens: dict[str, str]) -> None:
    page = _sign_in(browser, server, tokens["admin"])
    expect(page.locator("#signed-in")).to_contain_text("Signed in as ada (admin)")
    _ask(page, ANSWERED, 1)
    _ask(page, FOLLOW_UP, 2)
    expect(_listed(page).first).to_contain_text(ANSWERED)
    page.reload()
    expect(page.locator("#chat a.cite")).to_have_count(0)  # a fresh page starts a new conversation
    expect(_listed(page).first).to_contain_text(ANSWERED)
    _listed(page).first.click()
    expect(page.locator("#chat a.cite[href^='#source-2-']").first).to_be_visible()
    expect(page.locator("#sources details[data-turn='2']")).to_be_attached()
    expect(page.locator("#sources #source-2-1 mark")).to_contain_text("expects")
    expect(page.locator("#conversation-title textarea")).to_have_value(ANSWERED)
    page.screenshot(path=str(SCREENSHOT))
    _ask(page, "Who is the CENTCOM chief again?", 3)  # the opened conversation goes on
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    newest = httpx.get(f"{server.url}/v1/conversations", headers=headers).json()["conversations"][0]
    assert (newest["title"], newest["turns"]) == (ANSWERED, 3)
    page.context.close()


def test_rename_search_new_and_delete_with_confirmation(browser: Browser, server: LiveServer,
                                                        tokens: dict[str, str]) -> None:
    page = _sign_in(browser, server, tokens["admin"])
    page.locator("#new-conversation").click()
    _ask(page, "How many drones were shot down?", 1)
    expect(_listed(page).first).to_contain_text("How many drones")
    page.locator("#conversation-title textarea").fill("Drones over the base")
    page.locator("#rename-conversation").click()
    expect(page.locator("#conversation-status")).to_contain_text("Renamed")
    expect(_listed(page).first).to_contain_text("Drones over the base")
    page.locator("#conversation-search textarea").fill("over the base")
    expect(_listed(page)).to_have_count(1)
    page.locator("#conversation-search textarea").fill("")
    page.locator("#delete-conversation").click()
    expect(page.locator("#confirm-delete")).to_be_visible()
    page.locator("#confirm-delete-no").click()  # kept
    expect(page.locator("#confirm-delete")).to_be_hidden()
    expect(_listed(page).first).to_contain_text("Drones over the base")
    page.locator("#delete-conversation").click()
    page.locator("#confirm-delete-yes").click()
    expect(page.locator("#conversation-status")).to_contain_text("Deleted")
    expect(page.locator("#conversations")).not_to_contain_text("Drones over the base")
    expect(page.locator("#chat a.cite")).to_have_count(0)
    page.context.close()


def test_a_reader_sees_only_what_a_reader_may_do(browser: Browser, server: LiveServer,
                                                tokens: dict[str, str]) -> None:
    page = _sign_in(browser, server, tokens["reader"])
    expect(page.locator("#signed-in")).to_contain_text("Signed in as rita (reader)")
    expect(page.locator("#conversations")).not_to_contain_text(ANSWERED)  # the admin's are not listed
    page.get_by_role("tab", name="Reports").click()
    expect(page.locator("#documents")).to_be_visible()
    expect(page.locator("#upload-controls")).to_be_hidden()
    expect(page.locator("#delete-controls")).to_be_hidden()
    page.get_by_role("tab", name="Evaluate").click()
    expect(page.locator("#evaluate-note")).to_be_visible()
    expect(page.locator("#eval-start")).to_be_hidden()
    page.get_by_role("tab", name="Chat").click()
    _ask(page, ANSWERED, 1)
    expect(_listed(page)).to_have_count(1)
    page.context.close()


def test_a_restart_keeps_the_conversations(browser: Browser, server: LiveServer, tokens: dict[str, str]) -> None:
    stop_server(server)
    again = start_server(server.home, {"ASSISTANT_USERS": tokens["file"]})
    try:
        page = _sign_in(browser, again, tokens["reader"])
        expect(_listed(page).first).to_contain_text(ANSWERED)
        _listed(page).first.click()
        expect(page.locator("#chat a.cite[href^='#source-1-']").first).to_be_visible()
        expect(page.locator("#sources #source-1-1")).to_be_attached()
        page.context.close()
    finally:
        stop_server(again)
        server.process = again.process
