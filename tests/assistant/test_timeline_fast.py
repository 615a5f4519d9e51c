"""Timelines and summaries (assistant/timeline.py, assistant/summary.py) through the chain, the
HTTP API and the chat, over the fakes of tests/fakes.py (timelines judged by words), on the
dated reports of tests/data/timeline: a strike told day by day, a wire copy of its first
report, a festival report that names it in passing, an undated explainer and an unrelated one."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from assistant.api import create_app
from assistant.citations import markers_in
from assistant.config import Settings
from assistant.timeline_chat import timeline_topic
from index.common.errors import InputError, NotFoundError
from tests.contract import assert_answer_contract
from tests.fakes import fake_assistant as build

pytestmark = pytest.mark.fast

STORY = Path(__file__).resolve().parent.parent / "data" / "timeline"
TOPIC = "the Port Vale ferry strike"
# The strike's first report and its wire copy, the same day: either is the original.
FIRST_REPORTS = ("ferry-strike-begins.txt", "ferry-strike-begins-wire.txt")


@pytest.fixture
def news(tmp_path: Path):
    assistant = build(Settings.load({"home": tmp_path / "home"}, environ={}))
    report = assistant.ingest([STORY], progress=False)
    assert not report.failed and len(report.added) == 8
    return assistant


def _by_name(assistant) -> dict[str, str]:
    return {Path(d.source).name: d.doc_id for d in assistant.documents()}


def test_events_are_oldest_first_each_an_exact_cited_sentence(news) -> None:
    timeline = news.timeline(TOPIC)
    names = {doc_id: name for name, doc_id in _by_name(news).items()}
    shown = [names[e.doc_id] for e in timeline.events]
    assert shown[0] in FIRST_REPORTS and shown[-1] == "ferry-strike-ends.txt", shown
    assert {"ferry-strike-talks.txt", "ferry-strike-court.txt"} <= set(shown)
    assert "council-library-budget.txt" not in shown  # not about it
    assert [e.date for e in timeline.events] == sorted(e.date for e in timeline.events)
    assert [e.sentence.n for e in timeline.events] == list(range(1, len(timeline.events) + 1))
    for event in timeline.events:
        c = event.sentence
        assert news.document_text(c.doc_id)[c.start:c.end] == c.quote and c.doc_id == event.doc_id
        assert c.date == event.date and event.passage.doc_id == event.doc_id
        p = event.passage  # the passage it opens in: the sentence lies in it
        assert p.start <= c.start < c.end <= p.end and p.text[c.start - p.start:c.end - p.start] == c.quote


def test_a_wire_copy_is_folded_into_the_original(news) -> None:
    ids = _by_name(news)
    events = {e.doc_id: e for e in news.timeline(TOPIC).events}
    first, copy = (ids[name] for name in FIRST_REPORTS)
    original, folded = (first, copy) if first in events else (copy, first)
    assert folded not in events and events[original].also_in == (folded,)
    assert events[original].to_dict()["also_in"] == [folded]
    assert all(e.also_in == () for e in events.values() if e.doc_id != original)


def test_a_passing_mention_is_not_an_event(news) -> None:
    events = {e.doc_id for e in news.timeline(TOPIC).events}
    assert _by_name(news)["port-vale-festival.txt"] not in events


def test_undated_reports_are_counted_and_left_out(news) -> None:
    timeline = news.timeline(TOPIC)
    assert timeline.undated == 1  # the explainer
    assert _by_name(news)["ferry-strike-explainer.txt"] not in {e.doc_id for e in timeline.events}
    assert set(timeline.to_dict()) == {"events", "undated"}  # a message only when empty


def test_dates_bound_the_timeline(news) -> None:
    later = news.timeline(TOPIC, date_from="2024-03-06")
    assert later.events and min(e.date for e in later.events) >= "2024-03-06"
    assert later.undated == 0  # "from" leaves undated reports out before they are judged
    known = news.timeline(TOPIC, as_of="2024-03-07")
    assert known.events and max(e.date for e in known.events) <= "2024-03-07"
    window = news.timeline(TOPIC, date_from="2024-03-05", date_to="2024-03-10")
    assert all("2024-03-05" <= e.date <= "2024-03-10" for e in window.events)
    assert len(news.timeline(TOPIC, k=2).events) == 2


def test_a_topic_nothing_matches_gives_an_empty_timeline_that_says_so(news) -> None:
    timeline = news.timeline("volcanic eruption in Iceland")
    assert timeline.events == [] and timeline.message
    assert "volcanic eruption in Iceland" in timeline.message
    assert timeline.to_dict() == {"events": [], "undated": 0, "message": timeline.message}


@pytest.mark.parametrize("kwargs, words", [
    ({"topic": "  "}, ["topic"]),
    ({"topic": TOPIC, "date_from": "2024-02-30"}, ["date_from", "2024-02-30"]),
    ({"topic": TOPIC, "date_to": "03/04/2024"}, ["date_to", "03/04/2024"]),
    ({"topic": TOPIC, "as_of": "2024-13-01"}, ["as_of", "2024-13-01"]),
    ({"topic": TOPIC, "date_from": "2024-03-10", "date_to": "2024-03-01"}, ["date_from", "2024-03-10", "2024-03-01"]),
    ({"topic": TOPIC, "k": 0}, ["k", "0"]),
])
def test_bad_input_names_the_field_and_value(news, kwargs, words) -> None:
    with pytest.raises(InputError) as raised:
        news.timeline(**kwargs)
    assert all(word in str(raised.value) for word in words), str(raised.value)


# --- HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def client(news) -> TestClient:
    return TestClient(create_app(news))


def test_timeline_route_gives_the_interface_shape(client: TestClient, news) -> None:
    body = client.post("/v1/timeline", json={"topic": TOPIC, "date_to": "2024-03-31"}).json()
    assert set(body) == {"events", "undated"} and body["events"] and body["undated"] == 1
    for event in body["events"]:
        assert set(event) == {"date", "doc_id", "title", "source", "sentence", "also_in"}
        quote = event["sentence"]
        assert news.document_text(quote["doc_id"])[quote["start"]:quote["end"]] == quote["quote"]
    empty = client.post("/v1/timeline", json={"topic": "volcanic eruption in Iceland"}).json()
    assert empty["events"] == [] and "volcanic" in empty["message"]


@pytest.mark.parametrize("body, words", [
    ({"topic": ""}, ["topic"]),
    ({"topic": "   "}, ["topic"]),
    ({}, ["topic"]),
    ({"topic": TOPIC, "date_from": "2024-02-30"}, ["date_from", "2024-02-30"]),
    ({"topic": TOPIC, "as_of": "yesterday"}, ["as_of", "yesterday"]),
    ({"topic": TOPIC, "k": 500}, ["k"]),
])
def test_bad_timeline_requests_are_a_400_naming_the_field(client: TestClient, body, words) -> None:
    response = client.post("/v1/timeline", json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and all(w in response.json()["error"] for w in words)


def test_summary_route_cites_every_sentence_exactly(client: TestClient, news) -> None:
    doc_id = _by_name(news)["ferry-strike-talks.txt"]
    body = client.get(f"/v1/documents/{doc_id}/summary").json()
    assert set(body) == {"doc_id", "summary", "citations"} and body["doc_id"] == doc_id
    _assert_summary_contract(body, news.document_text(doc_id))
    missing = client.get("/v1/documents/nope/summary")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]


# --- summaries -------------------------------------------------------------------------------


def _assert_summary_contract(summary: dict, text: str) -> None:
    """Markers and citations one to one, in order; each quote exact; the text is the quotes."""
    numbers = [c["n"] for c in summary["citations"]]
    assert numbers == list(range(1, len(numbers) + 1)) and markers_in(summary["summary"]) == numbers
    for c in summary["citations"]:
        assert text[c["start"]:c["end"]] == c["quote"] and c["quote"] in summary["summary"]
    assert [c["start"] for c in summary["citations"]] == sorted(c["start"] for c in summary["citations"])


def test_a_summary_is_a_few_key_sentences_in_report_order(news) -> None:
    for name, doc_id in _by_name(news).items():
        summary = news.summary(doc_id)
        text = news.document_text(doc_id)
        _assert_summary_contract(summary.to_dict(), text)
        assert 3 <= len(summary.citations) <= 5, name
        headline = text.splitlines()[0]
        assert all(c.quote != headline for c in summary.citations), name  # the title is not a summary
    with pytest.raises(NotFoundError):
        news.summary("nope")


# --- the chat --------------------------------------------------------------------------------


@pytest.mark.parametrize("question, topic", [
    ("What happened with the Port Vale ferry strike since March 5, 2024?", "the Port Vale ferry strike"),
    ("Timeline of the Port Vale ferry strike", "the Port Vale ferry strike"),
    ("Give me a timeline for Gull Island.", "Gull Island"),
    ("Port Vale ferry strike timeline", "Port Vale ferry strike"),
    ("How did the ferry strike unfold?", "the ferry strike"),
    ("What's new with the ferry strike since Monday?", "the ferry strike"),
    ("What happened to the ferry on Monday?", None),  # one day's fact, not a course of events
    ("Who did the Pentagon blame?", None),
])
def test_questions_asking_for_a_course_of_events(question: str, topic: str | None) -> None:
    assert timeline_topic(question) == topic


def test_the_chat_answers_a_course_of_events_with_dated_cited_lines(news) -> None:
    answer = news.ask("What happened with the Port Vale ferry strike since March 5, 2024?", as_of="2024-03-31")
    assert not answer.refused
    assert_answer_contract(answer, news.document_text)
    lines = answer.answer.splitlines()
    assert len(lines) == len(answer.citations) >= 2
    for line, citation in zip(lines, answer.citations):
        assert line == f"{citation.date}: {citation.quote} [{citation.n}]"
        assert "2024-03-05" <= citation.date <= "2024-03-31"
    assert [c.date for c in answer.citations] == sorted(c.date for c in answer.citations)
    assert answer.stats["timeline_events"] == len(lines)
    # With no dated report about it (here: none at all) it is answered as any question is.
    nothing = news.ask("Timeline of the volcanic eruption in Iceland")
    assert "timeline_events" not in nothing.stats
    assert_answer_contract(nothing, news.document_text)
