"""The answer contract of docs/interface.md, checked the same way for every answerer and every edge
(Python API, HTTP JSON, a streamed final event)."""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Any, Callable

from assistant.answerers.base import refusal_text
from assistant.answerers.verify import split_sentences
from assistant.citations import markers_in
from index.headlines import reads_as_title

CITATION_KEYS = {"n", "doc_id", "title", "source", "date", "start", "end", "quote", "score"}


def assert_answer_contract(
    answer: Any, document_text: Callable[[str], str] | None = None
) -> dict[str, Any]:
    """A plain refusal without citations, or: each `[n]` has exactly one citation, each citation
    is used, each sentence carries a marker, and each quote is the exact slice of the report at
    its offsets (checked against `document_text`, and against the passage that holds it when the
    answer carries its passages). Takes an Answer, a Reply or the interface's JSON; returns the JSON."""
    data = asdict(answer) if is_dataclass(answer) else answer
    if data["refused"]:
        assert data["answer"] == refusal_text(), data["answer"]
        assert data["citations"] == [] and data.get("short") is None
        return data
    numbers = [c["n"] for c in data["citations"]]
    assert numbers and len(numbers) == len(set(numbers)), numbers
    assert set(markers_in(data["answer"])) == set(numbers), (data["answer"], numbers)
    for sentence, markers in split_sentences(data["answer"]):
        assert markers, f"uncited sentence {sentence!r} in {data['answer']!r}"
    passages = data.get("passages") or []
    for c in data["citations"]:
        assert set(c) == CITATION_KEYS and c["quote"].strip()
        if document_text is not None:
            assert document_text(c["doc_id"])[c["start"]:c["end"]] == c["quote"]
        if passages:
            holders = [p for p in passages if p["doc_id"] == c["doc_id"]
                       and p["start"] <= c["start"] <= c["end"] <= p["end"]]
            if not holders:  # then it is the headline of a report a passage is from
                assert any(p["doc_id"] == c["doc_id"] for p in passages), f"citation {c['n']} lies in no passage"
                assert reads_as_title(c["quote"], c["title"]), (c["quote"], c["title"])
                continue
            p = holders[0]
            assert p["text"][c["start"] - p["start"]:c["end"] - p["start"]] == c["quote"]
    if document_text is not None:
        for p in passages:
            assert document_text(p["doc_id"])[p["start"]:p["end"]] == p["text"]
    short = data.get("short")
    if short is not None:  # a few words, an exact span inside the quote of citation n
        cited = {c["n"]: c for c in data["citations"]}[short["n"]]
        assert cited["start"] <= short["start"] < short["end"] <= cited["end"]
        assert cited["quote"][short["start"] - cited["start"]:short["end"] - cited["start"]] == short["text"]
        assert 0 < len(short["text"].split()) <= 10
    return data
