"""The chat UI in a real browser: Debian's Chromium driven by Playwright, a real server process
with a token, signed in through /login; and the UI's Gradio API refusing callers without it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT
from tests.ui.conftest import signed_in
from tests.live_server import AUTH, TOKEN, LiveServer, module_server

pytestmark = [pytest.mark.browser, pytest.mark.server]

QUESTION = "Who did the Pentagon blame?"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
XSS_REPORT = (
    'Festival bulletin <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>\n'
    "The Zanzibar xylophone festival director is Mira Tolv "
    '<img src=x onerror="window.__xss=1"> <script>window.__xss=2</script> say the organisers.\n'
    "Tickets went on sale in March.\n"
)
ANSWERED = "Who is the CENTCOM chief?"
XSS_QUESTION = "Who is the Zanzibar xylophone festival director?"



server = module_server("ui")


@pytest.fixture
def outside_requests() -> list[str]:
    """URLs the page asked for outside the server (there should be none: it works offline)."""
    return []


@pytest.fixture
def page(browser: Browser, server: LiveServer, outside_requests: list[str]) -> Iterator[Page]:
    """A fresh signed-in page on "/" that records every request leaving the server."""
    page = signed_in(browser, server.url, TOKEN, on_request=lambda r: None if r.url.startswith(
        (server.url, "data:", "blob:")) else outside_requests.append(r.url))
    yield page
    page.context.close()


def _ask(page: Page, question: str) -> None:
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()


def _api_answer(server: LiveServer, question: str) -> dict:
    return httpx.post(f"{server.url}/v1/ask", json={"question": question}, headers=AUTH,
                      timeout=120).json()


def _upload(page: Page, *paths: Path) -> None:
    page.get_by_role("tab", name="Reports").click()
    page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])


def test_answer_streams_in_with_highlighted_sources(
    page: Page, server: LiveServer, outside_requests: list[str]
) -> None:
    _ask(page, QUESTION)
    marker = page.locator("#chat a.cite", has_text="[1]").first
    expect(marker).to_be_visible()
    expected = _api_answer(server, QUESTION)
    assert not expected["refused"], expected["answer"]

    for citation in expected["citations"]:
        source = page.locator(f"#sources #source-1-{citation['n']}")
        expect(source).to_contain_text(citation["title"])
        expect(source.locator("mark")).to_have_text(citation["quote"])

    marker.click()  # a marker opens and points at its source
    expect(page.locator("#source-1-1")).to_have_class("source flash")
    expect(page.locator("#source-1-1")).to_be_in_viewport()
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert outside_requests == []  # works offline: no CDN, fonts or analytics


def test_the_short_answer_comes_first_and_is_marked_in_its_source(page: Page, server: LiveServer) -> None:
    expected = _api_answer(server, ANSWERED)
    short = expected["short"]
    assert short is not None, expected["stats"]
    _ask(page, ANSWERED)
    expect(page.locator("#chat strong.short-answer").last).to_have_text(short["text"])
    expect(page.locator(f"#sources #source-1-{short['n']} mark strong.short")).to_have_text(short["text"])


def test_follow_up_uses_the_conversation(page: Page) -> None:
    _ask(page, ANSWERED)
    expect(page.locator("#chat a.cite").first).to_be_visible()
    # Alone this is refused (who is "he"?); with the history it is answered and cited.
    _ask(page, "What does he expect?")
    # The second answer's markers point at the second answer's sources.
    expect(page.locator('#chat a.cite[href^="#source-2-"]').first).to_be_visible()
    expect(page.locator("#sources details[data-turn='2']")).to_have_attribute("open", "")
    expect(page.locator("#sources #source-2-1 mark")).to_contain_text("expects")


def test_thumbs_up_and_down_and_a_comment_are_kept_with_the_turn(page: Page, server: LiveServer) -> None:
    _ask(page, ANSWERED)
    expect(page.locator("#chat a.cite").first).to_be_visible()
    page.locator("#chat button[aria-label='Like']").first.click()
    expect(page.locator("#feedback-status")).to_contain_text("thumbs up recorded")
    page.locator("#chat button[aria-label='Dislike']").first.click()
    expect(page.locator("#feedback-status")).to_contain_text("thumbs down recorded")
    page.locator("#feedback-comment textarea").fill("The second source is better.")
    page.locator("#send-comment").click()
    expect(page.locator("#feedback-status")).to_contain_text("Comment recorded")
    newest = httpx.get(f"{server.url}/v1/conversations", headers=AUTH).json()["conversations"][0]
    saved = httpx.get(f"{server.url}/v1/conversations/{newest['id']}", headers=AUTH).json()
    (turn,) = saved["turns"]
    assert turn["question"] == ANSWERED and "[1]" in turn["answer"]["answer"]
    assert turn["answer"]["citations"][0]["quote"]
    assert turn["feedback"]["rating"] == "down" and turn["feedback"]["comment"] == "The second source is better."


def test_upload_shows_in_the_document_list_and_can_be_deleted(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    report = tmp_path / "harbor-news.txt"
    report.write_text("Harbor news. The harbor master of Port Vale is Ada Okafor.\n")
    _upload(page, report)
    expect(page.locator("#upload-results")).to_contain_text("harbor-news.txt")
    expect(page.locator("#upload-results")).to_contain_text("added")
    expect(page.locator("#documents")).to_contain_text("harbor-news.txt")
    assert (server.home / "uploads" / "harbor-news.txt").exists()
    assert _received(server) == []  # what Gradio received is gone once indexed

    page.locator("#delete-choice input").click()
    page.get_by_role("option", name="harbor-news.txt").click()
    page.locator("#delete").click()
    expect(page.locator("#delete-status")).to_contain_text("Deleted")
    expect(page.locator("#documents")).not_to_contain_text("harbor-news.txt")
    documents = httpx.get(f"{server.url}/v1/documents", headers=AUTH).json()["documents"]
    assert "harbor-news.txt" not in [d["source"] for d in documents]
    assert not (server.home / "uploads" / "harbor-news.txt").exists()


def _received(server: LiveServer) -> list[Path]:
    """Files with content in Gradio's upload folder. Its parser leaves one empty file per
    browser upload (swept after an hour), so empty ones are not counted."""
    folder = server.home / "ui-uploads"
    return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_size]


def test_a_wrong_token_does_not_sign_in(browser: Browser, server: LiveServer) -> None:
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url + "/")
    page.locator("#token").fill(TOKEN + "x")
    page.locator("#sign-in").click()
    expect(page.locator("#login-error")).to_contain_text("Wrong token")
    page.goto(server.url + "/")
    expect(page.locator("#token")).to_be_visible()  # still the sign-in form
    context.close()


def test_the_gradio_api_refuses_callers_without_the_token(server: LiveServer,
                                                           tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    doc_id = httpx.get(f"{server.url}/v1/documents", headers=AUTH).json()["documents"][0]["doc_id"]
    with pytest.raises(ValueError, match="credentials were not provided"):
        Client(server.url, verbose=False).predict(doc_id, api_name="/delete")
    for path in ("/gradio_api/info", "/config", "/gradio_api/queue/join"):
        assert httpx.get(server.url + path).status_code == 401, path
    wrong = {"Cookie": "assistant_session=0123"}
    upload = httpx.post(f"{server.url}/gradio_api/upload", headers=wrong,
                        files={"files": ("evil.exe", b"MZ" + b"\0" * 1000)})
    assert upload.status_code == 401
    assert _received(server) == []
    documents = httpx.get(f"{server.url}/v1/documents", headers=AUTH).json()["documents"]
    assert doc_id in [d["doc_id"] for d in documents]  # not deleted

    # With the token the same client works; its upload is indexed and Gradio's copy removed.
    client = Client(server.url, headers=AUTH, verbose=False)
    report = tmp_path / "ferry-times.txt"
    report.write_text("Ferry times. The first ferry to Port Vale leaves at six.\n")
    rows = client.predict([handle_file(str(report))], api_name="/upload")[0]
    assert ["ferry-times.txt", "added", ""] in rows["data"]
    assert (server.home / "uploads" / "ferry-times.txt").exists()
    assert _received(server) == []
    assert not list(Path("/tmp/gradio").rglob("ferry-times.txt"))


def test_report_markup_is_shown_as_text_never_run(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    report = tmp_path / "festival.txt"
    report.write_text(XSS_REPORT)
    _upload(page, report)
    expect(page.locator("#documents")).to_contain_text("festival.txt")
    expected = _api_answer(server, XSS_QUESTION)
    assert any("onerror" in c["quote"] and c["source"] == "festival.txt"
               for c in expected["citations"]), expected  # the payload really is cited

    page.get_by_role("tab", name="Chat").click()
    _ask(page, XSS_QUESTION)
    expect(page.locator("#chat a.cite").first).to_be_visible()
    expect(page.locator("#sources mark").first).to_contain_text("<script>window.__xss=2</script>")
    expect(page.locator("#chat")).to_contain_text('onerror="window.__xss=1"')
    page.get_by_role("tab", name="Reports").click()
    expect(page.locator("#documents")).to_contain_text("festival.txt")
    page.wait_for_timeout(500)  # give an injected image time to fail and fire onerror
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#chat img[src='x'], #sources img, #sources script").count() == 0


BULLETIN = ("Harbor bulletin\n"
            "The CENTCOM chief named in this harbor bulletin is Admiral Ada Okafor.\n"
            "The bulletin was posted on the pier.\n")


def test_a_dated_upload_and_a_chat_limited_to_it(page: Page, server: LiveServer,
                                                 tmp_path: Path) -> None:
    bulletin = tmp_path / "harbor-bulletin.txt"
    bulletin.write_text(BULLETIN)
    page.get_by_role("tab", name="Reports").click()
    page.locator("#upload-date textarea").fill("2021-13-01")
    _upload(page, bulletin)
    expect(page.locator("#upload-results")).to_contain_text("date must be a date YYYY-MM-DD")
    expect(page.locator("#documents")).not_to_contain_text("harbor-bulletin.txt")
    assert not (server.home / "uploads" / "harbor-bulletin.txt").exists()

    page.locator("#upload-date textarea").fill("2021-06-01")
    _upload(page, bulletin)
    expect(page.locator("#upload-results")).to_contain_text("added")
    row = page.locator("#documents").get_by_role("row").filter(has_text="harbor-bulletin.txt")
    expect(row).to_contain_text("2021-06-01")
    expect(row).to_contain_text("given")  # the date source column
    unlimited = _api_answer(server, ANSWERED)  # without limits another report answers too
    assert {c["source"] for c in unlimited["citations"]} - {"harbor-bulletin.txt"}, unlimited

    page.get_by_role("tab", name="Chat").click()
    page.get_by_text("Limit to reports and dates").click()
    page.locator("#chat-reports input").click()
    page.get_by_role("option", name="harbor-bulletin.txt").click()
    page.keyboard.press("Escape")
    page.locator("#date-from textarea").fill("2021-01-01")
    page.locator("#date-to textarea").fill("2021-12-31")
    _ask(page, ANSWERED)
    expect(page.locator("#chat a.cite").first).to_be_visible()
    expect(page.locator("#chat")).to_contain_text("Okafor")
    metas = page.locator("#sources .source .meta")
    assert metas.count() >= 1
    for meta in metas.all():  # every citation is from the chosen report
        expect(meta).to_contain_text("2021-06-01 · harbor-bulletin.txt")

    page.locator("#date-to textarea").fill("2021-31-12")
    _ask(page, ANSWERED)
    expect(page.locator("#chat")).to_contain_text("date_to must be a date YYYY-MM-DD")
    doc_id = next(d["doc_id"] for d in httpx.get(f"{server.url}/v1/documents",
                                                  headers=AUTH).json()["documents"]
                  if d["source"] == "harbor-bulletin.txt")
    httpx.delete(f"{server.url}/v1/documents/{doc_id}", headers=AUTH).raise_for_status()
