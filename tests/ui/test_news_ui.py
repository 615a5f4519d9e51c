"""The Timeline tab and the Reports tab's summaries in a real browser (Debian's Chromium through
Playwright) against a real server with a token, over the dated strike reports of
tests/data/timeline uploaded through the API; screenshots for the README."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT
from tests.live_server import AUTH, TOKEN, LiveServer, module_server
from tests.ui.conftest import signed_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

STORY = ROOT / "tests" / "data" / "timeline"
TOPIC = "the Port Vale ferry strike"
TIMELINE_SCREENSHOT = ROOT / "docs" / "timeline.png"
SUMMARY_SCREENSHOT = ROOT / "docs" / "summary.png"
# Each upload's date (the two first reports and the explainer: their datelines, or none).
DATES = {None: ["ferry-strike-begins.txt", "ferry-strike-begins-wire.txt", "ferry-strike-explainer.txt"],
         "2024-03-05": ["council-library-budget.txt"], "2024-03-06": ["ferry-strike-talks.txt"],
         "2024-03-08": ["port-vale-festival.txt"], "2024-03-09": ["ferry-strike-court.txt"],
         "2024-03-12": ["ferry-strike-ends.txt"]}

server = module_server("news-ui")


@pytest.fixture(scope="module")
def news(server: LiveServer) -> LiveServer:
    """The server with the strike's reports uploaded, each with its date."""
    for date, names in DATES.items():
        files = [("files", (name, (STORY / name).read_bytes(), "text/plain")) for name in names]
        response = httpx.post(f"{server.url}/v1/documents", headers=AUTH, files=files,
                              data={"date": date} if date else {}, timeout=300)
        assert response.status_code == 200, response.text
    return server


@pytest.fixture
def page(browser: Browser, news: LiveServer) -> Iterator[Page]:
    """A signed-in page on "/"."""
    page = signed_in(browser, news.url, TOKEN)
    yield page
    page.context.close()


def _show(page: Page, topic: str, date_from: str = "") -> None:
    page.get_by_role("tab", name="Timeline").click()
    page.locator("#timeline-from textarea").fill(date_from)
    page.locator("#timeline-topic textarea").fill(topic)
    page.locator("#timeline-show").click()


def test_the_timeline_tab_lists_events_by_date_each_opening_its_passage(page: Page, news: LiveServer) -> None:
    expected = httpx.post(f"{news.url}/v1/timeline", json={"topic": TOPIC}, headers=AUTH, timeout=120).json()
    assert len(expected["events"]) >= 3, expected
    _show(page, TOPIC)
    events = page.locator("#timeline-events li.event")
    expect(events).to_have_count(len(expected["events"]))
    for shown, event in zip(events.all(), expected["events"]):
        expect(shown.locator(".event-date")).to_have_text(event["date"])
        expect(shown.locator(".event-sentence")).to_have_text(event["sentence"]["quote"])
    expect(page.locator("#timeline-note")).to_contain_text("1 undated report about it left out")
    expect(events.first.locator(".also-in")).to_contain_text("ferry-strike-begins")  # the wire copy, folded

    last = events.last
    last.locator("summary").click()  # opens the passage, the sentence marked in it
    expect(last.locator(".passage mark")).to_have_text(expected["events"][-1]["sentence"]["quote"])
    expect(last.locator(".passage")).to_be_visible()
    events.nth(1).locator("summary").click()
    TIMELINE_SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(TIMELINE_SCREENSHOT))


def test_the_timeline_tab_says_why_it_is_empty_or_what_is_wrong(page: Page) -> None:
    _show(page, "volcanic eruption in Iceland")
    expect(page.locator("#timeline-note")).to_contain_text("No report is about “volcanic eruption in Iceland”")
    expect(page.locator("#timeline-events li.event")).to_have_count(0)
    _show(page, TOPIC, date_from="2024-02-30")
    expect(page.locator("#timeline-error")).to_contain_text("date_from must be a date YYYY-MM-DD, got '2024-02-30'")
    _show(page, "   ")
    expect(page.locator("#timeline-error")).to_contain_text("topic must be a non-empty string")


def test_a_report_chosen_in_the_table_shows_its_summary_beside_it(page: Page, news: LiveServer) -> None:
    documents = httpx.get(f"{news.url}/v1/documents", headers=AUTH).json()["documents"]
    doc_id = next(d["doc_id"] for d in documents if d["source"] == "ferry-strike-ends.txt")
    expected = httpx.get(f"{news.url}/v1/documents/{doc_id}/summary", headers=AUTH).json()
    page.get_by_role("tab", name="Reports").click()
    row = page.locator("#documents").get_by_role("row").filter(has_text="ferry-strike-ends.txt")
    row.get_by_role("gridcell").nth(1).click()
    summary = page.locator(f'#summary .summary[data-doc-id="{doc_id}"]')
    expect(summary).to_be_visible()
    marks = summary.locator("li mark")
    expect(marks).to_have_count(len(expected["citations"]))
    for mark, citation in zip(marks.all(), expected["citations"]):
        expect(mark).to_have_text(citation["quote"])
    expect(summary.locator(".summary-text a.cite")).to_have_count(len(expected["citations"]))
    page.screenshot(path=str(SUMMARY_SCREENSHOT))


def test_the_chat_answers_a_course_of_events_with_dated_cited_lines(page: Page, news: LiveServer) -> None:
    question = "What happened with the Port Vale ferry strike since March 5, 2024?"
    expected = httpx.post(f"{news.url}/v1/ask", json={"question": question, "as_of": "2024-03-31"},
                          headers=AUTH, timeout=120).json()
    lines = expected["answer"].splitlines()
    assert len(lines) == len(expected["citations"]) >= 2 and lines[0].startswith("2024-03-06: ")
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    last = page.locator("#chat .message").last
    expect(page.locator(f'#chat a.cite[href="#source-1-{len(lines)}"]')).to_be_visible()
    for citation in expected["citations"]:
        expect(page.locator("#chat")).to_contain_text(f"{citation['date']}: {citation['quote'][:40]}")
        expect(page.locator(f"#sources #source-1-{citation['n']} mark")).to_have_text(citation["quote"])
    box = last.bounding_box()  # one line an event: the answer is as tall as several lines
    assert box is not None and box["height"] > 3 * 18
