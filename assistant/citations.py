"""From supported claims to an answer with `[n]` markers and exactly matching citations, and
back: the one place that knows how a marker is written and how an answer is cut into its claims.

Every answerer ends here, so every answer keeps the interface's promises: each marker has one
citation, each citation is used, and each quote is `document_text[start:end]`. The UI links the
markers and the evaluation scores the claims by reading them with this module's grammar, so
they read what `assemble` wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from assistant.models import Citation, Short
from index.common.types import Passage

# One citation marker: "[3]".
MARKER = re.compile(r"\[(\d+)\]")
# Markers in a row with the spaces before them: " [1][2]", " [1] [2]".
MARKER_RUN = re.compile(rf"(?:\s*{MARKER.pattern})+")
# A claim as `assemble` writes it: its text, then the markers that close it; punctuation right
# after the markers ("... drought [3].") belongs to that claim.
_CITED_CLAIM = re.compile(rf"(?P<text>.*?)(?P<markers>{MARKER_RUN.pattern})[.,;:!?]*", re.DOTALL)
# Where uncited text is cut into sentences: after an end mark, before what can open a sentence.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“‘(])")


@dataclass(frozen=True)
class Support:
    """A span of a report (inside `passage`) that supports a claim; offsets are document offsets."""

    passage: Passage
    start: int
    end: int
    score: float

    @property
    def quote(self) -> str:
        """The supporting text, sliced from the passage (which is itself a slice of the report)."""
        return self.passage.text[self.start - self.passage.start : self.end - self.passage.start]

    @property
    def key(self) -> tuple[str, int, int]:
        """Identity of the span: the same sentence cited twice gets one number."""
        return (self.passage.doc_id, self.start, self.end)


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the spans that support it."""

    text: str
    supports: tuple[Support, ...]


def assemble(claims: list[Claim], separator: str = " ") -> tuple[str, list[Citation]]:
    """Join claims into answer text, numbering supports in order of first use; `separator`
    goes between claims (a line break for a list, as a timeline's dated sentences)."""
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    sentences: list[str] = []
    for claim in claims:
        markers: list[str] = []
        for support in claim.supports:
            n = numbers.get(support.key)
            if n is None:
                n = numbers[support.key] = len(citations) + 1
                p = support.passage
                citations.append(Citation(
                    n=n, doc_id=p.doc_id, title=p.title, source=p.source, date=p.date,
                    start=support.start, end=support.end, quote=support.quote,
                    score=round(support.score, 4),
                ))
            if f"[{n}]" not in markers:
                markers.append(f"[{n}]")
        text = strip_markers(claim.text)
        sentences.append(f"{text} {''.join(markers)}" if markers else text)
    return separator.join(sentences), citations


def cite_short(citations: Sequence[Citation], span: Support) -> Short | None:
    """The short answer `span` with the number of the first citation whose quote holds it;
    None when none does (a short answer is only given inside a cited quote)."""
    for citation in citations:
        if citation.doc_id == span.passage.doc_id and citation.start <= span.start and span.end <= citation.end:
            return Short(text=span.quote, n=citation.n, start=span.start, end=span.end)
    return None


def strip_markers(text: str) -> str:
    """Text without `[n]` markers and the space before them."""
    return MARKER_RUN.sub("", text).strip()


def markers_in(text: str) -> list[int]:
    """The marker numbers in `text`, in order of appearance."""
    return [int(m) for m in MARKER.findall(text)]


def cited_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The claims of an answer `assemble` wrote, each with the marker numbers that close it.

    A claim is the text up to its markers, whatever sentence ends it holds: `assemble` joins
    whole claims, and a claim may be two sentences of a report or a headline without a full
    stop. Text after the last marker cites nothing; it is cut at sentence ends, each piece a
    sentence without markers.
    """
    sentences: list[tuple[str, list[int]]] = []
    end = 0
    for match in _CITED_CLAIM.finditer(answer):
        text = match["text"].strip()
        if text:
            sentences.append((text, markers_in(match["markers"])))
        end = match.end()
    tail = answer[end:].strip()
    sentences += [(piece, []) for piece in _SENTENCE_END.split(tail) if piece.strip()]
    return sentences
