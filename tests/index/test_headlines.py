"""A report's headline as a citable passage: only its own first line, standing alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.headlines import headline_passage, headline_span
from index.loaders import load_file
from index.records import StoredChunk

pytestmark = pytest.mark.fast


@pytest.mark.parametrize("text, title, expected", [
    ("Acme names Jane Roe chief\n\nThe board met on Monday.", "Acme names Jane Roe chief", "Acme names Jane Roe chief"),
    ("  # Acme names Jane Roe chief  \nBody.", "Acme names Jane Roe chief", "Acme names Jane Roe chief"),
    ("Acme names Jane Roe chief executive after a long search\nBody.", "Acme names Jane Roe…",
     "Acme names Jane Roe chief executive after a long search"),
])
def test_the_first_line_that_reads_as_the_title_is_the_headline(text: str, title: str, expected: str) -> None:
    span = headline_span(text, title)
    assert span is not None and text[span[0]:span[1]] == expected


@pytest.mark.parametrize("text, title", [
    ("News of the two battles reached England in August. After several months of talks",
     "News of the two battles reached England in August…"),  # a paragraph, no line of its own
    ("Intro line\n\n# Acme names Jane Roe chief\n", "Acme names Jane Roe chief"),  # not the first line
    ("Acme names John Doe chief\nBody.", "Acme names Jane Roe chief"),
    ("…\nBody.", "…"),
])
def test_no_headline_unless_the_first_line_is_the_title(text: str, title: str) -> None:
    assert headline_span(text, title) is None


def test_headline_passage_quotes_the_first_chunk() -> None:
    text = "Acme names Jane Roe chief\n\nThe board met on Monday."
    chunk = StoredChunk("d:0", "d", "Acme names Jane Roe chief", "a.txt", "2024-01-02", 0, len(text), text)
    passage = headline_passage(chunk)
    assert passage is not None
    assert (passage.start, passage.end, passage.text) == (0, 25, text[0:25])
    assert (passage.doc_id, passage.source, passage.date) == ("d", "a.txt", "2024-01-02")
    later = StoredChunk("d:1", "d", "Acme names Jane Roe chief", "a.txt", None, 27, len(text), text[27:])
    assert headline_passage(later) is None


def test_a_front_matter_title_becomes_the_first_line_once(tmp_path: Path) -> None:
    plain = tmp_path / "plain.md"
    plain.write_text("---\ntitle: Acme names Jane Roe chief\ndate: 2024-01-02\n---\n\nThe board met.\n")
    doc = load_file(plain)
    assert doc.text.startswith("Acme names Jane Roe chief\n\nThe board met.")
    assert headline_span(doc.text, doc.title) == (0, len("Acme names Jane Roe chief"))
    headed = tmp_path / "headed.md"
    headed.write_text("---\ntitle: Acme names Jane Roe chief\n---\n# Acme names Jane Roe chief\n\nThe board met.\n")
    assert load_file(headed).text.count("Acme names Jane Roe chief") == 1
