"""The Evaluate tab in a real browser: a test set uploaded, the run followed to its end, and its
numbers equal to `assistant eval --index` on the same index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT
from tests.live_server import AUTH, TOKEN, LiveServer, cli_eval_on_copy, module_server
from tests.ui.conftest import TIMEOUT_MS, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

TESTSET = ROOT / "eval" / "testsets" / "sample_reports.jsonl"
SCREENSHOTS = ROOT / "docs"
NOT_COMPARED = ("latency_p50_ms", "latency_p95_ms")  # times differ from run to run


server = module_server("evaluate")


@pytest.fixture
def page(browser: Browser, server: LiveServer) -> Iterator[Page]:
    page = signed_in(browser, server.url, TOKEN, height=1400)
    page.get_by_role("tab", name="Evaluate").click()
    yield page
    page.context.close()


def test_a_test_set_runs_in_the_evaluate_tab(page: Page, server: LiveServer, tmp_path: Path) -> None:
    page.locator("#eval-upload input[type=file]").set_input_files(str(TESTSET))
    page.locator("#eval-start").click()
    status = page.locator("#eval-status")
    expect(status.locator("[data-status=running]")).to_be_visible()
    expect(page.locator("#eval-progress")).to_contain_text("s left")  # some answered, more to go
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "evaluate-running.png"))

    expect(status.locator("[data-status=done]")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator("#eval-progress")).to_contain_text("56 / 56 questions")
    expect(page.locator("#eval-plots img").first).to_be_visible()
    runs = httpx.get(f"{server.url}/v1/evals", headers=AUTH).json()["evals"]
    run = httpx.get(f"{server.url}/v1/evals/{runs[0]['id']}", headers=AUTH).json()
    assert run["status"] == "done" and run["done"] == run["total"] == 56

    # The table shows the run's numbers, which equal the CLI's on the same index.
    cli = cli_eval_on_copy(server, TESTSET, tmp_path)
    expect(page.locator("#eval-metrics")).to_contain_text("answer_contains")
    cells = [c.strip() for c in page.locator("#eval-metrics").inner_text().split("\n") if c.strip()]
    cells = cells[cells.index("value") + 1:]  # after the label and the header
    shown = dict(zip(cells[::2], cells[1::2]))
    for name, value in run["results"]["metrics"].items():
        if name not in NOT_COMPARED:
            assert value == cli["metrics"][name], name
            assert shown[name] == ("n/a" if value is None else f"{value:.3f}"), name
    assert run["results"]["breakdown"] == cli["breakdown"]
    expect(page.locator("#eval-outcomes")).to_contain_text(f"{run['results']['breakdown']['right']}")

    # An example opens its answer with the cited passage, the quote marked.
    page.locator("#eval-example input").click()
    page.get_by_role("option").filter(has_text="right · ").first.click()
    expect(page.locator("#eval-answer mark").first).to_be_visible()
    expect(page.locator("#eval-answer")).not_to_have_class(re.compile(r"\bpending\b"))
    page.screenshot(path=str(SCREENSHOTS / "evaluate-done.png"), full_page=True)
    # The downloads are the run's files.
    links = {Path(a.get_attribute("href").split("?")[0]).name: a.get_attribute("href")
             for a in page.locator("#eval-files a[href]").all()}
    assert set(links) == {"report.md", "questions.jsonl"}, links
    served = httpx.get(f"{server.url}/v1/evals/{run['id']}/questions", headers=AUTH).text
    assert page.request.get(links["questions.jsonl"]).text() == served
    assert len(served.splitlines()) == 56

    # In a new page the run is listed, and opens again.
    page.reload()
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#eval-runs input").click()
    page.get_by_role("option").filter(has_text=run["id"]).click()
    expect(page.locator("#eval-status [data-status=done]")).to_be_visible()
    expect(page.locator("#eval-metrics")).to_contain_text("answer_contains")


def test_a_malformed_test_set_is_refused_with_its_line(page: Page, tmp_path: Path) -> None:
    bad = tmp_path / "broken.jsonl"
    lines = TESTSET.read_text().splitlines()
    bad.write_text("\n".join([lines[0], '{"id": "x", "answers": []}', *lines[1:3]]) + "\n")
    page.locator("#eval-upload input[type=file]").set_input_files(str(bad))
    page.locator("#eval-start").click()
    expect(page.locator("#eval-message")).to_contain_text("broken.jsonl line 2")
    expect(page.locator("#eval-message")).to_contain_text("question")
