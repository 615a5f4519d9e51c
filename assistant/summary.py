"""A report's summary in its own sentences, each cited (docs/interface.md: `assistant docs
summary`, `GET /v1/documents/{doc_id}/summary`).

The sentences that carry a report's content are those nearest to what the whole report says
and to its headline, and not to each other: each sentence scores by the cosine of its vector to
the mean of the report's sentence vectors and to its title's, the lead (news puts the event
first) and, less and less, the sentences after it preferred; then maximal marginal relevance
takes the best, each next one less what it repeats of those taken, so the summary holds the lead
and what the report says further on, not its first three sentences. They are given in the
report's order. Bylines, captions, questions and "Read more" lines are not candidates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from assistant.answerers.base import Answerer
from assistant.citations import Claim, Support, assemble
from assistant.models import Citation
from assistant.sentences import reads_as_sentence, report_sentences
from index import Query, ReportIndex
from index.common.types import DocumentInfo, Passage, Retrieved

Embed = Callable[[Sequence[str]], np.ndarray]
# What a language model is asked when it writes the summary from the key sentences.
SUMMARY_REQUEST = "What does this report say? Summarize it in a few sentences."


@dataclass(frozen=True)
class SummaryTuning:
    """How many sentences, and how they are chosen (module docstring)."""

    # Sentences by the report's length in candidate sentences: 3 up to 20, 4 up to 50, else 5.
    sizes: tuple[tuple[int, int], ...] = ((20, 3), (50, 4))
    most: int = 5
    min_words: int = 8
    title_weight: float = 0.5
    # News says first what happened: the first candidate sentence (the lead) gains this, the
    # second half of it, and every sentence `position_weight` falling to 0 at the last.
    lead_weight: float = 0.3
    position_weight: float = 0.1
    redundancy_weight: float = 0.7  # maximal marginal relevance: a repeat's score falls by this
    # A sentence leaning on the one before it (a quotation, "She said ...", "But ...") reads
    # badly alone: its score falls by this.
    leaning_weight: float = 0.15
    # Only the first this many candidate sentences are read: a very long report's summary is
    # its opening's (embedding every sentence of a book would take minutes).
    max_candidates: int = 200


@dataclass(frozen=True)
class Summary:
    """A report's summary: text whose `[n]` markers each have one citation, all used."""

    doc_id: str
    summary: str
    citations: list[Citation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return {"doc_id": self.doc_id, "summary": self.summary,
                "citations": [c.to_dict() for c in self.citations]}




# What opens a sentence that leans on the one before it.
_LEANING = re.compile(r"[\"“‘']|(?:he|she|they|it|this|that|these|those|but|and|so|also)\b", re.IGNORECASE)


def whole_report(info: DocumentInfo, text: str) -> Passage:
    """The report's text as one passage: every sentence of it is a slice of this."""
    return Passage(doc_id=info.doc_id, title=info.title, source=info.source, date=info.date,
                   chunk_id=f"{info.doc_id}:text", start=0, end=len(text), text=text, score=0.0)


class Summarizer:
    """Chooses a report's key sentences with an embedder."""

    def __init__(self, embed: Embed, tuning: SummaryTuning = SummaryTuning()) -> None:
        self.embed = embed
        self.tuning = tuning

    def key_sentences(self, info: DocumentInfo, text: str,
                      headline: tuple[int, int] | None = None, n: int | None = None) -> list[Support]:
        """The report's `n` key sentences (by default as many as its length calls for), in
        the report's order, each a span of `text`; `headline` is left out."""
        t = self.tuning
        report = whole_report(info, text)
        spans = [(s, e) for s, e in report_sentences(text) if (s, e) != headline]
        candidates = [(s, e) for s, e in spans if reads_as_sentence(text[s:e], t.min_words)]
        candidates = (candidates or spans)[: t.max_candidates]
        if not candidates:
            return []
        n = n or next((size for limit, size in t.sizes if len(candidates) <= limit), t.most)
        vectors = np.asarray(self.embed([text[s:e] for s, e in candidates]), dtype=float)
        centre = vectors.mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        scores = vectors @ centre + t.position_weight * np.linspace(1.0, 0.0, len(candidates))
        scores[: 2] += t.lead_weight * np.array([1.0, 0.5])[: len(candidates)]
        if info.title.strip():
            scores += t.title_weight * (vectors @ np.asarray(self.embed([info.title])[0], dtype=float))
        scores -= t.leaning_weight * np.array([bool(_LEANING.match(text, s)) for s, _ in candidates])
        chosen = _most_relevant(scores, vectors, min(n, len(candidates)), t.redundancy_weight)
        return [Support(report, *candidates[i], float(scores[i])) for i in sorted(chosen)]

    def summarize(self, info: DocumentInfo, text: str, headline: tuple[int, int] | None = None) -> Summary:
        """The report's key sentences, each cited, as its summary."""
        supports = self.key_sentences(info, text, headline)
        summary, citations = assemble([Claim(s.quote, (s,)) for s in supports])
        return Summary(doc_id=info.doc_id, summary=summary, citations=citations)


def _most_relevant(scores: np.ndarray, vectors: np.ndarray, n: int, redundancy: float) -> list[int]:
    """Maximal marginal relevance: the best `n` by score, each next one less `redundancy` times
    its greatest cosine to those already taken."""
    chosen: list[int] = []
    for _ in range(n):
        penalty = (vectors @ vectors[chosen].T).max(axis=1) if chosen else np.zeros(len(scores))
        marginal = scores - redundancy * penalty
        marginal[chosen] = -np.inf
        chosen.append(int(np.argmax(marginal)))
    return chosen


class Summaries:
    """Summaries of the reports of one index: their key sentences, or where the answerer is a
    language model, its summary of them, checked sentence by sentence against the sentences it
    cites as its answers are (assistant/answerers/verify.py)."""

    # The key sentences a language model writes from: more than a summary shows, fewer than
    # would crowd a small model's prompt.
    WRITER_SOURCES = 8

    def __init__(self, index: ReportIndex, answerer: Answerer, tuning: SummaryTuning = SummaryTuning()) -> None:
        self.index = index
        self.answerer = answerer
        self.summarizer = Summarizer(index.embedder.embed, tuning)

    def of(self, doc_id: str) -> Summary:
        """The summary of report `doc_id`; NotFoundError when there is none."""
        info = self.index.document(doc_id)
        text = self.index.document_text(doc_id)
        head = self.index.headlines([doc_id]).get(doc_id)
        headline = (head.start, head.end) if head is not None else None
        extract = self.summarizer.summarize(info, text, headline)
        if not self.answerer.generative or not extract.citations:
            return extract
        sources = [_sentence_passage(s, i) for i, s in enumerate(
            self.summarizer.key_sentences(info, text, headline, n=self.WRITER_SOURCES))]
        reply = self.answerer.answer(Query.plain(SUMMARY_REQUEST), Retrieved(passages=sources))
        if reply.refused:  # nothing it wrote was supported: the report's own sentences
            return extract
        return Summary(doc_id=doc_id, summary=reply.answer, citations=reply.citations)


def _sentence_passage(support: Support, i: int) -> Passage:
    """One key sentence as a passage of its own (the model cites sentences, not the report)."""
    p = support.passage
    return Passage(doc_id=p.doc_id, title=p.title, source=p.source, date=p.date,
                   chunk_id=f"{p.doc_id}:sentence{i}", start=support.start, end=support.end,
                   text=support.quote, score=support.score)
