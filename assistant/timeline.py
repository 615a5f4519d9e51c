"""Timelines: the reports about a topic in date order, each with the one sentence that says what
it adds about the topic, cited (docs/interface.md: `assistant timeline`, `POST /v1/timeline`).

Built from a `Query` of the topic, whose dates bound the chunks searched:

1. candidates: the first stage's best reports (`ReportIndex.ranked`, before any preference for
   recent reports: a timeline wants the old ones too);
2. closeness: the cosine of each report's stored vector (the mean of its chunks') to the topic's.
   Retrieval finds every report that names the topic; one that names it in passing (a digest,
   a festival report mentioning a strike) is about something else and sits further from it than
   the reports about it: below `focus_ratio` of the best candidate's closeness it is dropped;
3. judgment: the reader (index/reader.py) reads each remaining report's headline, first
   statement and the sentence of its best passage holding most of the topic's words, with "What
   happened with TOPIC?" (a question as it is). A report is about the topic when a sentence is
   judged `min_relevance` or more, or when it is close (`min_focus`) and judged at least what its
   closeness calls for (`TimelineTuning`). Without the reader, the share of the topic's words in
   a sentence and its title stands in (`word_judge`);
4. folding, oldest first: a report whose text is a near-copy of an earlier event's (a wire copy,
   index/dedup.py), or that within `fold_days` of it repeats its sentence or is as close to it
   as `same_story` (the same story rewritten), goes into that event's `also_in`;
5. the sentence: of each event, the one judged best, the opening counting a little more, less
   what it repeats of the events before it: what the report adds.

Undated reports about the topic are left out and counted. The `k` reports most about the topic
are kept, oldest first. How the thresholds were chosen: docs/evaluation.md (Timelines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Sequence

import numpy as np

from assistant.answerers.extractive import configured_reader
from assistant.citations import Claim, Support, assemble
from assistant.config import Settings
from assistant.models import Citation
from assistant.sentences import lexical_overlap, reads_as_sentence, report_sentences
from index import DUPLICATE_THRESHOLD, DuplicateFinder, Query, ReportIndex, StoredChunk, headline_passage
from index.common.dates import try_date
from index.common.errors import InputError
from index.common.text import tokenize
from index.common.types import Passage

# How a topic is put to the reader, which was trained on questions.
TOPIC_QUESTION = "What happened with {topic}?"

# The judgment of sentences (with their reports' titles) about a topic: a probability each.
Judge = Callable[[str, Sequence[str], Sequence[str]], np.ndarray]
# The reader's reading of sentences for a question (`index.Reader.read`).
ReaderRead = Callable[[str, Sequence[str], Sequence[str]], Any]


@dataclass(frozen=True)
class TimelineTuning:
    """The timeline's weights and thresholds (docs/evaluation.md: Timelines)."""

    # First-stage reports judged, at least (k more when k asks for more events than this).
    reports: int = 20
    # Sentences of a report's best passage read beside its headline and first statement: the
    # reader's time grows with each (about 2 ms a sentence on two idle cores).
    body_sentences: int = 1
    min_words: int = 5  # shorter "sentences" (bylines, captions) say nothing about an event
    # What a report needs to be about the topic (step 3): the cosine of its vector (the mean
    # of its chunks') to the topic's at least `focus_ratio` times the best candidate's, and
    # then either a sentence the reader judges `min_relevance` or more, or a cosine of
    # `min_focus` or more and a sentence judged at least `min_relevance` times how far the
    # report stands below `strong_ratio` of the best, on the way down from it to `focus_ratio`
    # (so nothing from `strong_ratio` up: a report that close to the topic is about it even
    # when the sentences read do not say what happened).
    focus_ratio: float = 0.7
    min_relevance: float = 0.5
    strong_ratio: float = 0.85
    min_focus: float = 0.5
    # Step 5: a sentence's judgment counts this much less for each share of its words an
    # earlier event's sentence already said, and this much more when it opens the report.
    novelty_weight: float = 0.3
    opening_weight: float = 0.15
    # Step 4: a sentence repeating this share of an earlier event's words (Jaccard of their
    # content words), published within `fold_days` of it, is the same story rewritten.
    fold_overlap: float = 0.6
    fold_days: int = 3
    # ... and so is a report whose vector is this close to an earlier event's, within `fold_days`.
    same_story: float = 0.93
    duplicate_threshold: float = DUPLICATE_THRESHOLD


@dataclass(frozen=True)
class TimelineEvent:
    """One report about the topic: its date, the sentence that says what it adds (cited), the
    near-copies folded into it, and the passage (a chunk) that sentence lies in, to show it in
    context."""

    date: str
    doc_id: str
    title: str
    source: str
    sentence: Citation
    also_in: tuple[str, ...]
    passage: Passage
    relevance: float
    also_in_sources: tuple[str, ...] = ()  # the sources of `also_in`, in its order

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return {"date": self.date, "doc_id": self.doc_id, "title": self.title, "source": self.source,
                "sentence": self.sentence.to_dict(), "also_in": list(self.also_in)}


@dataclass(frozen=True)
class Timeline:
    """The events about `topic`, oldest first; `undated` reports about it were left out;
    `message` says why the timeline is empty when it is."""

    topic: str
    events: list[TimelineEvent] = field(default_factory=list)
    undated: int = 0
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape (`message` only when there are no events)."""
        out: dict[str, Any] = {"events": [e.to_dict() for e in self.events], "undated": self.undated}
        if self.message is not None:
            out["message"] = self.message
        return out

    def claims(self, dated: bool = False) -> list[Claim]:
        """Each event's sentence as a claim citing itself (`dated`: after its date, as the chat
        lists them)."""
        return [Claim(f"{e.date}: {e.sentence.quote}" if dated else e.sentence.quote,
                      (Support(e.passage, e.sentence.start, e.sentence.end, e.sentence.score),))
                for e in self.events]


@dataclass
class _Sentence:
    passage: Passage  # the chunk it lies in: what the citation quotes from
    start: int  # document offsets
    end: int
    text: str
    opening: bool = False  # the headline, or the first statement after it
    probability: float = 0.0


@dataclass
class _Report:
    lead: StoredChunk  # its best passage in the first stage
    focus: float = 0.0  # cosine of its vector (the mean of its chunks') to the topic's
    share: float = 0.0  # `focus` as a share of the best candidate's
    vector: np.ndarray | None = None
    sentences: list[_Sentence] = field(default_factory=list)

    @property
    def judged(self) -> float:
        """The judgment of its best sentence."""
        return max((s.probability for s in self.sentences), default=0.0)


def topic_question(topic: str) -> str:
    """The question the reader is asked about `topic` (a question is asked as it is)."""
    return topic if topic.rstrip().endswith("?") else TOPIC_QUESTION.format(topic=topic.strip())


def reader_judge(read: ReaderRead) -> Judge:
    """The reader's probability that each sentence says what happened with the topic."""
    def judge(topic: str, sentences: Sequence[str], titles: Sequence[str]) -> np.ndarray:
        return np.asarray(read(topic_question(topic), sentences, titles).answers, dtype=float)
    return judge


def make_judge(settings: Settings) -> Judge:
    """The reader's judgment where the reader is on, else `word_judge`."""
    reader = configured_reader(settings)
    return word_judge if reader is None else reader_judge(reader.read)


def word_judge(topic: str, sentences: Sequence[str], titles: Sequence[str]) -> np.ndarray:
    """Without the reader: the share of the topic's words (rarer ones weighing more) in each
    sentence, and a quarter of that share in its report's title."""
    in_sentence = np.array(lexical_overlap(topic, sentences))
    in_title = np.array(lexical_overlap(topic, titles))
    return np.clip(in_sentence + 0.25 * in_title, 0.0, 1.0)


def _passage(chunk: StoredChunk) -> Passage:
    return Passage(doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, date=chunk.date,
                   chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end, text=chunk.text, score=0.0)


def _cosine(a: np.ndarray | None, b: np.ndarray | None) -> float:
    return float(a @ b) if a is not None and b is not None else 0.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0



class Timelines:
    """Builds timelines over one index with one judge."""

    def __init__(self, index: ReportIndex, judge: Judge, tuning: TimelineTuning = TimelineTuning()) -> None:
        self.index = index
        self.judge = judge
        self.tuning = tuning

    def build(self, query: Query, k: int) -> Timeline:
        """The timeline of `query.text` within the query's filters (dates, reports), at most `k`
        events, oldest first."""
        t = self.tuning
        _check_range(query)
        reports = self._focused(query, self._candidates(query, max(t.reports, k)))
        self._add_sentences(query, reports)
        self._judge(query.text, reports)
        about = [r for r in reports if r.sentences and self._about(r)]
        dated = [r for r in about if try_date(r.lead.date or "") is not None]
        kept = sorted(self._fold(dated), key=lambda pick: -pick.report.focus)[:k]
        kept.sort(key=lambda pick: (str(pick.report.lead.date), -pick.report.focus))
        undated = len(about) - len(dated)
        events = _events(kept)
        return Timeline(topic=query.text, events=events, undated=undated,
                        message=None if events else _empty_message(query, undated))

    def _about(self, report: _Report) -> bool:
        """Whether a report passing `_focused` is about the topic (`TimelineTuning`)."""
        t = self.tuning
        below = (t.strong_ratio - report.share) / (t.strong_ratio - t.focus_ratio)
        needed = t.min_relevance * min(1.0, max(0.0, below))
        return report.judged >= t.min_relevance or (report.focus >= t.min_focus and report.judged >= needed)

    def _candidates(self, query: Query, n: int) -> list[_Report]:
        """The first stage's best `n` reports, by their best passage."""
        reports: dict[str, _Report] = {}
        for chunk, _ in self.index.ranked(query, n):
            if chunk.doc_id not in reports and len(reports) < n:
                reports[chunk.doc_id] = _Report(chunk)
        return list(reports.values())

    def _focused(self, query: Query, reports: Sequence[_Report]) -> list[_Report]:
        """The reports as much about the topic as the best of them, within `focus_ratio`, by
        their stored vectors: one that names the topic in passing is about something else."""
        if not reports or query.vector is None:
            return list(reports)
        vectors = self.index.document_vectors([r.lead.doc_id for r in reports])
        topic = np.asarray(query.vector, dtype=float)
        for report in reports:
            vector = vectors.get(report.lead.doc_id)
            if vector is not None:
                report.vector = np.asarray(vector, dtype=float)
                report.focus = float(report.vector @ topic)
        best = max(r.focus for r in reports)
        for report in reports:
            report.share = report.focus / best if best > 0.0 else 0.0
        return [r for r in reports if r.focus > 0.0 and r.share >= self.tuning.focus_ratio]

    def _add_sentences(self, query: Query, reports: Sequence[_Report]) -> None:
        """To each report, its opening (the headline and the first statement after it: news
        says first what happened) and the `body_sentences` of its best passage that hold most
        of the topic's words."""
        firsts = self.index.first_chunks([r.lead.doc_id for r in reports])
        body: list[_Sentence] = []
        for report in reports:
            first = firsts.get(report.lead.doc_id)
            report.sentences.extend(self._opening(first) if first is not None else [])
            taken = {(s.start, s.end) for s in report.sentences}
            passage = _passage(report.lead)
            for s, e in report_sentences(passage.text):
                span = (passage.start + s, passage.start + e)
                text = passage.text[s:e]
                if span not in taken and text != report.lead.title and reads_as_sentence(text, self.tuning.min_words):
                    body.append(_Sentence(passage, *span, text))
        # Of each report's passage, the sentences sharing most of the topic's words (the
        # earlier first among equals).
        overlap = dict(zip(map(id, body), lexical_overlap(query.search_text, [s.text for s in body])))
        for report in reports:
            mine = [s for s in body if s.passage.doc_id == report.lead.doc_id]
            mine.sort(key=lambda s: (-overlap[id(s)], s.start))
            report.sentences.extend(mine[: self.tuning.body_sentences])

    def _opening(self, first: StoredChunk) -> list[_Sentence]:
        """The headline of a report (from its first chunk) and its first statement after it."""
        head = headline_passage(first)
        passage = _passage(first)
        opening = [_Sentence(passage, head.start, head.end, head.text, opening=True)] if head is not None else []
        for s, e in report_sentences(passage.text):
            text = passage.text[s:e]
            if (head is None or passage.start + s >= head.end) and reads_as_sentence(text, self.tuning.min_words):
                opening.append(_Sentence(passage, passage.start + s, passage.start + e, text, opening=True))
                break
        return opening

    def _judge(self, topic: str, reports: Sequence[_Report]) -> None:
        """Each candidate sentence's probability of saying what happened with the topic."""
        sentences = [s for r in reports for s in r.sentences]
        if not sentences:
            return
        probabilities = self.judge(topic, [s.text for s in sentences], [s.passage.title or "" for s in sentences])
        for sentence, p in zip(sentences, probabilities):
            sentence.probability = float(p)

    def _fold(self, reports: Sequence[_Report]) -> list[_Pick]:
        """Oldest first: each report folded into an earlier event it copies or repeats, or an
        event of its own with the sentence that adds most."""
        t = self.tuning
        ordered = sorted(reports, key=lambda r: (str(r.lead.date), -r.focus))
        finder = (DuplicateFinder(self.index.document_texts([r.lead.doc_id for r in ordered]),
                                  t.duplicate_threshold) if t.duplicate_threshold <= 1.0 else None)
        sentences = [s for r in ordered for s in r.sentences]
        terms = {id(s): set(words) for s, words in zip(sentences, tokenize([s.text for s in sentences]))} \
            if sentences else {}
        picks: list[_Pick] = []
        for report in ordered:
            copied = finder.is_duplicate(report.lead.doc_id, [p.report.lead.doc_id for p in picks]) if finder else None
            if copied is not None:
                next(p for p in picks if p.report.lead.doc_id == copied).also_in.append(report)
                continue
            said = [terms[id(p.sentence)] for p in picks]
            best = max(report.sentences, key=lambda s: s.probability + t.opening_weight * s.opening
                       - t.novelty_weight * max((_jaccard(terms[id(s)], earlier) for earlier in said), default=0.0))
            day = date.fromisoformat(str(report.lead.date))
            repeated = next((p for p in picks
                             if (day - date.fromisoformat(str(p.report.lead.date))).days <= t.fold_days
                             and (_jaccard(terms[id(best)], terms[id(p.sentence)]) >= t.fold_overlap
                                  or _cosine(report.vector, p.report.vector) >= t.same_story)), None)
            if repeated is not None:
                repeated.also_in.append(report)
                continue
            picks.append(_Pick(report, best))
        return picks


@dataclass
class _Pick:
    """A report that is an event, the sentence chosen of it, and the reports folded into it."""

    report: _Report
    sentence: _Sentence
    also_in: list[_Report] = field(default_factory=list)


def _events(picks: Sequence[_Pick]) -> list[TimelineEvent]:
    """The events of `picks`, in their order, their sentences cited and numbered from 1."""
    claims = [Claim(p.sentence.text, (Support(p.sentence.passage, p.sentence.start, p.sentence.end,
                                              p.sentence.probability),)) for p in picks]
    _, citations = assemble(claims)
    events = []
    for pick, citation in zip(picks, citations):
        lead = pick.report.lead
        events.append(TimelineEvent(date=str(lead.date), doc_id=lead.doc_id, title=lead.title,
                                    source=lead.source, sentence=citation,
                                    also_in=tuple(r.lead.doc_id for r in pick.also_in),
                                    passage=pick.sentence.passage, relevance=round(pick.report.focus, 4),
                                    also_in_sources=tuple(r.lead.source for r in pick.also_in)))
    return events


def _check_range(query: Query) -> None:
    """InputError naming both fields when the dates leave no day."""
    f = query.chunk_filter
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise InputError(f"date_from {f.date_from} is after date_to {f.date_to} (or as_of): no day is left")


def _empty_message(query: Query, undated: int) -> str:
    """Why a timeline has no events."""
    f = query.chunk_filter
    span = "".join(part for part in (f" from {f.date_from}" if f.date_from else "",
                                     f" up to {f.date_to}" if f.date_to else ""))
    if undated:
        return (f"No dated report{span} is about “{query.text}”; {undated} undated "
                f"report{'s are' if undated > 1 else ' is'}, and a timeline needs dates.")
    return f"No report{span} is about “{query.text}”."
