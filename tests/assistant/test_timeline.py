"""Timelines and summaries with the real parts: the `assistant` command in real processes over
an embedded Chroma, the bundled embedder and the reader judging which reports are about the
topic; the chat's dated answer in process. The reports are tests/data/timeline: a strike told
day by day, a wire copy of its first report, a festival report naming it in passing, an
undated explainer and an unrelated council report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.citations import markers_in
from tests.conftest import ROOT
from tests.contract import assert_answer_contract

ASSISTANT = Path(sys.executable).parent / "assistant"
STORY = ROOT / "tests" / "data" / "timeline"
TOPIC = "the Port Vale ferry strike"
FIRST_REPORTS = {"ferry-strike-begins.txt", "ferry-strike-begins-wire.txt"}  # same day: either is the original


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    return subprocess.run([str(ASSISTANT), *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def news_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the strike's reports ingested by the command (copy it before writing)."""
    home = tmp_path_factory.mktemp("news") / "home"
    done = run(home, "ingest", str(STORY), "--json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["added"]) == 8
    return home


def _name(source: str) -> str:
    return Path(source).name


def test_the_command_gives_the_strike_oldest_first_with_exact_sentences(news_home: Path) -> None:
    done = run(news_home, "timeline", TOPIC, "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert set(body) == {"events", "undated"}
    events = body["events"]
    shown = [_name(e["source"]) for e in events]
    # Every report about the strike, in date order; the festival names it in passing, the
    # council report not at all; the undated explainer is counted.
    assert shown[0] in FIRST_REPORTS and shown[1:] == [
        "ferry-strike-talks.txt", "ferry-strike-court.txt", "ferry-strike-ends.txt"], shown
    assert body["undated"] == 1
    for event in events:
        quote = event["sentence"]
        text = (STORY / _name(event["source"])).read_text(encoding="utf-8")
        assert text[quote["start"]:quote["end"]] == quote["quote"] and quote["date"] == event["date"]
    # The wire copy is folded into the original.
    (copy,) = FIRST_REPORTS - {shown[0]}
    assert events[0]["also_in"] and all(not e["also_in"] for e in events[1:])
    listed = json.loads(run(news_home, "docs", "list", "--json").stdout)["documents"]
    ids = {_name(d["source"]): d["doc_id"] for d in listed}
    assert events[0]["also_in"] == [ids[copy]]

    printed = run(news_home, "timeline", TOPIC).stdout.splitlines()
    assert printed[0].startswith(events[0]["date"]) and printed[1].strip().startswith("“")
    assert printed[-1] == "1 undated report about it left out"


def test_dates_bound_the_command_and_bad_input_names_the_flag(news_home: Path) -> None:
    later = json.loads(run(news_home, "timeline", TOPIC, "--from", "2024-03-07", "--json").stdout)
    assert [_name(e["source"]) for e in later["events"]] == ["ferry-strike-court.txt", "ferry-strike-ends.txt"]
    known = json.loads(run(news_home, "timeline", TOPIC, "--as-of", "2024-03-07", "--json").stdout)
    assert {_name(e["source"]) for e in known["events"]} <= FIRST_REPORTS | {"ferry-strike-talks.txt"}
    bad = run(news_home, "timeline", TOPIC, "--from", "2024-02-30")
    assert bad.returncode == 1 and "--from" in bad.stderr and "2024-02-30" in bad.stderr
    empty = run(news_home, "timeline", "  ")
    assert empty.returncode == 1 and "topic" in empty.stderr
    nothing = run(news_home, "timeline", "volcanic eruption in Iceland")
    assert nothing.returncode == 0 and "No report is about" in nothing.stdout


def test_a_summary_cites_each_sentence_exactly(news_home: Path) -> None:
    docs = json.loads(run(news_home, "docs", "list", "--json").stdout)["documents"]
    for doc in docs:
        done = run(news_home, "docs", "summary", doc["doc_id"], "--json")
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        text = (STORY / _name(doc["source"])).read_text(encoding="utf-8")
        numbers = [c["n"] for c in summary["citations"]]
        assert numbers == list(range(1, len(numbers) + 1)) == markers_in(summary["summary"])
        assert 3 <= len(numbers) <= 5
        for c in summary["citations"]:
            assert text[c["start"]:c["end"]] == c["quote"] and c["doc_id"] == doc["doc_id"]
    missing = run(news_home, "docs", "summary", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_a_summary_holds_the_lead_and_what_comes_later(tmp_path: Path) -> None:
    """Not just the first three sentences: the lead, then what the report says further on."""
    report = ROOT / "tests" / "data" / "summary" / "harbour-dredging.txt"
    home = tmp_path / "home"
    assert run(home, "ingest", str(report)).returncode == 0
    (doc,) = json.loads(run(home, "docs", "list", "--json").stdout)["documents"]
    summary = json.loads(run(home, "docs", "summary", doc["doc_id"], "--json").stdout)
    text = report.read_text(encoding="utf-8")
    lead_end = text.index("in the space of a month.")
    starts = [c["start"] for c in summary["citations"]]
    assert len(starts) == 4  # 21 to 50 statements: four sentences
    assert starts[0] < lead_end  # the lead
    third_paragraph = text.index("Harbour master Ines Carvalho")
    assert max(starts) > third_paragraph  # and more than the opening
    assert all(text[c["start"]:c["end"]] == c["quote"] for c in summary["citations"])
    printed = run(home, "docs", "summary", doc["doc_id"]).stdout.splitlines()
    assert printed[0].startswith("Port Vale to dredge its harbour") and summary["summary"] in printed


def test_the_chat_lists_the_course_of_events_by_date(news_home: Path, tmp_path: Path) -> None:
    from assistant.config import Settings
    from assistant.core import Assistant

    home = tmp_path / "home"
    shutil.copytree(news_home, home)
    assistant = Assistant.open(Settings.load({"home": home}, environ={}))
    answer = assistant.ask("What happened with the Port Vale ferry strike since March 5, 2024?", as_of="2024-03-31")
    assert_answer_contract(answer, assistant.document_text)
    lines = answer.answer.splitlines()
    assert [_name(c.source) for c in answer.citations] == [
        "ferry-strike-talks.txt", "ferry-strike-court.txt", "ferry-strike-ends.txt"], lines
    for line, c in zip(lines, answer.citations):
        assert line == f"{c.date}: {c.quote} [{c.n}]"
    plain = assistant.ask("Who organised the ferry workers?")  # not a course of events: answered as ever
    assert "timeline_events" not in plain.stats
