"""A report's headline as a passage that can be cited.

A news headline often states the answer in a few words ("Hunter Biden to plead guilty to two tax
charges"), while the retrieved passage of the same report, chosen for the question's words, is
a paragraph that only restates the event. So each retrieved report's headline is offered to
the extractive answerer as one more sentence (its gain on real news: docs/evaluation.md).

A headline is citable only where it is the report's own text: its first line, standing alone,
and equal to its title (a Markdown `#` heading included). A title made up from a paragraph's
first words, as for a file with no title line, is no headline.
"""

from __future__ import annotations

from typing import Sequence

from index.common.types import Passage
from index.records import StoredChunk
from index.store import Store

MAX_HEADLINE_CHARS = 300


def reads_as_title(line: str, title: str) -> bool:
    """True when `line` reads as `title` (which the loader may have shortened with "…")."""
    line, title = " ".join(line.split()), " ".join(title.split())
    if title.endswith("…"):
        return len(title) > 1 and line.startswith(title[:-1].rstrip())
    return line == title


def headline_span(text: str, title: str) -> tuple[int, int] | None:
    """Offsets in `text` (a report's text from its start) of its headline, or None when its
    first line is not its title standing alone."""
    start = len(text) - len(text.lstrip())
    end = text.find("\n", start)
    if end < 0 or end - start > MAX_HEADLINE_CHARS:
        return None  # no line break after it: the title is the start of a paragraph
    line = text[start:end]
    heading = line.lstrip("#")
    if heading != line:
        start += len(line) - len(heading.lstrip())
    end = start + len(text[start:end].rstrip())
    if end <= start or not reads_as_title(text[start:end], title):
        return None
    return start, end


def headline_passage(first: StoredChunk) -> Passage | None:
    """The headline of `first`'s report as a passage, from its first chunk; None without one."""
    if first.start != 0 or not first.title:
        return None
    span = headline_span(first.text, first.title)
    if span is None:
        return None
    start, end = span
    return Passage(doc_id=first.doc_id, title=first.title, source=first.source, date=first.date,
                   chunk_id=first.chunk_id, start=start, end=end, text=first.text[start:end], score=0.0)


def headlines(store: Store, doc_ids: Sequence[str]) -> dict[str, Passage]:
    """The headlines of these reports by report id (reports without one are left out), in one
    read of their first chunks."""
    firsts = store.chunks_by_id([f"{doc_id}:0" for doc_id in dict.fromkeys(doc_ids)])
    found = {}
    for chunk in firsts:
        passage = headline_passage(chunk)
        if passage is not None:
            found[chunk.doc_id] = passage
    return found
