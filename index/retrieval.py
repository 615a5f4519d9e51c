"""Retrievers: dense (Chroma), keyword (BM25) and hybrid (reports ranked by fusing both with BM25
over whole reports).

Every retriever returns `Passage`s, best first, through the same small interface. After the
first stage, one news-aware selection step (`select`) is shared by all three:

- time (`time_factor`): with a `Query.as_of`, dated reports lose with age by a prior fitted on
  real dated news (`RECENCY_PRIOR`); dated reports outside the question's time frame ("last
  week", see index/timeframe.py) lose more. Both grow with the share of dated candidates
  (`time_strength`). Undated reports keep their score: a report never wins only because it
  carries a date.
- diversity: each further passage of a report already chosen counts `same_doc_decay` times less,
  so the k passages are not k slices of one article when others are relevant (they still are
  when nothing else is).
- near-duplicates: a report whose text is a near-copy of one already chosen (the same wire story
  in another outlet, index/dedup.py) is skipped, so the story is cited once, from its
  best-ranked copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol, Sequence

import numpy as np

from index.common.dates import try_date
from index.common.errors import ConfigError
from index.common.knobs import knob
from index.common.types import Passage
from index.dedup import DUPLICATE_THRESHOLD, DuplicateFinder
from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.query import Query
from index.records import ChunkFilter, StoredChunk
from index.store import Store

RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
RRF_K = 60  # the constant of Cormack et al. (2009); larger flattens the rank curve
CANDIDATES = 4  # each first-stage retriever returns k * CANDIDATES candidates for fusion


# A dated report's score factor by its age in days at `as_of`, interpolated in log(1 + age)
# and flat beyond the last knot. Fitted, with `window_boost`, by conditional logit on the fused
# report scores of the RealTimeQA 2023 and 2024 dated builds (`python -m eval.fit_time`;
# docs/evaluation.md: Dated news, year by year).
RECENCY_PRIOR: tuple[tuple[int, float], ...] = (
    (0, 1.0), (3, 1.0), (7, 0.75), (14, 0.63), (30, 0.58), (90, 0.58), (365, 0.53))


@dataclass(frozen=True)
class RetrievalTuning:
    """Weights of the news-aware selection (docs/evaluation.md); each knob is also an
    `assistant eval --compare` key of the same name."""

    candidates: int = knob(CANDIDATES, "first-stage depth: k times this, at least min_candidates", 1, 20)
    min_candidates: int = knob(20, "first-stage depth at the least", 1, 500)
    recency_weight: float = knob(1.0, "strength of the fitted recency prior against as_of: its log factor "
                                      "times this; 0 = off", 0.0, 100.0)
    recency_prior: tuple[tuple[int, float], ...] = RECENCY_PRIOR
    window_boost: float = knob(0.1, "a dated report outside the question's time frame scores / (1 + this); "
                                    "0 = off", 0.0, 100.0)
    window_slack_days: int = knob(1, "days after the time frame a report still covers it", 0, 30)
    same_doc_decay: float = knob(0.5, "worth of each further passage of one report; 1 = no diversity",
                                 0.01, 1.0)
    duplicate_threshold: float = knob(DUPLICATE_THRESHOLD, "shingle Jaccard above which reports are "
                                                           "near-copies, cited once; over 1 = off", 0.0, 2.0)
    dense_weight: float = knob(1.0, "weight of the dense ranking in hybrid fusion (chunk BM25's is 1)",
                               0.0, 100.0)
    document_weight: float = knob(1.0, "weight of the whole-report BM25 ranking in hybrid fusion; 0 = off",
                                  0.0, 100.0)
    passage_chunks: int = knob(1, "consecutive chunks in one passage", 1, 3)
    min_dated_share: float = knob(0.8, "share of dated candidates above which time preferences start, "
                                       "growing to full when all are; 1 = never", 0.0, 1.0)


def time_strength(candidates: Sequence[tuple[StoredChunk, float]], min_share: float) -> float:
    """How strongly time preferences apply (0-1): 0 up to `min_share` of the candidates' reports
    dated, rising linearly to 1 when all are.

    Time preferences compare dated reports with each other. Among partly undated ones they also
    move dated reports below undated ones (an undated report keeps its score), so an old dated
    report that answers loses to an undated one that does not; the ramp weighs that against
    what the dated ones gain (docs/evaluation.md, dated news, the half-dated build).
    """
    reports = {chunk.doc_id: chunk.date for chunk, _ in candidates}
    if not reports or min_share >= 1.0:
        return 0.0
    share = sum(day is not None for day in reports.values()) / len(reports)
    return max(0.0, (share - min_share) / (1.0 - min_share))


def recency_factor(age_days: int, prior: Sequence[tuple[int, float]]) -> float:
    """The prior's factor for a report `age_days` old (linear in log(1 + age) between knots)."""
    ages, factors = zip(*prior)
    return float(np.interp(np.log1p(max(age_days, 0)), np.log1p(ages), factors))


def time_factor(query: Query, day: str | None, tuning: RetrievalTuning, strength: float = 1.0) -> float:
    """The multiplier (at most 1) of a passage's score for a report published on `day`.

    A time preference only ever lowers a dated report: one outside the question's time frame,
    or, with no frame or outside it, one published long before `as_of`. An undated report keeps
    its score, as does a dated one of the right time, so no report wins merely because it
    carries a date (daily digests and photo galleries dated "this week" beat the undated
    article that answers, otherwise). `strength` (see `time_strength`) scales the log factor.
    """
    if not day or strength <= 0.0:
        return 1.0
    published = try_date(day)
    if published is None:
        return 1.0
    if query.has_window and query.in_window(published, tuning.window_slack_days):
        return 1.0  # of the time asked about: age since then does not count against it
    factor = 1.0
    if query.as_of is not None and tuning.recency_weight:
        age = (query.as_of - published).days
        factor *= recency_factor(age, tuning.recency_prior) ** tuning.recency_weight
    if query.has_window:
        factor /= 1.0 + tuning.window_boost
    return min(1.0, factor ** strength)


class Retriever(Protocol):
    """Finds the passages most relevant to a query."""

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        """The best `k` passages for `query`, best first."""
        ...

    def ranked(self, query: Query, n: int, chunk_filter: ChunkFilter) -> list[tuple[StoredChunk, float]]:
        """The first stage: up to `n` `(chunk, score)` candidates, best first."""
        ...


class _Selecting:
    """`retrieve()` built once on a subclass's `ranked()` (first stage) and `select()`."""

    store: Store
    tuning: RetrievalTuning = RetrievalTuning()

    def ranked(self, query: Query, n: int, chunk_filter: ChunkFilter) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, score)` candidates, best first."""
        raise NotImplementedError

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        """The `k` best passages: first-stage candidates, time preference, diversity, no copies."""
        t = self.tuning
        n = max(k * t.candidates, t.min_candidates)
        # No second pool from inside the question's time frame: a report ranked only among a
        # week's few would outscore the relevant ones.
        candidates = self.ranked(query, n, query.chunk_filter)
        strength = time_strength(candidates, t.min_dated_share)
        if strength > 0.0:
            candidates = [(chunk, score * time_factor(query, chunk.date, t, strength))
                          for chunk, score in candidates]
        candidates.sort(key=lambda pair: -pair[1])
        chosen = select(candidates, k, self.store, t)
        if t.passage_chunks > 1:
            chosen = widen(chosen, self.store, t.passage_chunks)
        return [_passage(c, s) for c, s in chosen]


def widen(
    chosen: Sequence[tuple[StoredChunk, float]], store: Store, chunks: int
) -> list[tuple[StoredChunk, float]]:
    """Each chosen chunk grown into a passage of up to `chunks` consecutive chunks of its report
    (the next one for 2, the previous and next for 3), keeping its id and score: a report's
    answer is often a paragraph away from the chunk that matched the question best."""
    def neighbours(chunk_id: str) -> list[str]:
        doc_id, _, index = chunk_id.rpartition(":")
        i = int(index)
        around = [i + 1] if chunks == 2 else [i - 1, i + 1]
        return [f"{doc_id}:{j}" for j in around if j >= 0]

    wanted = [cid for chunk, _ in chosen for cid in neighbours(chunk.chunk_id)]
    found = {c.chunk_id: c for c in store.chunks_by_id(wanted)}
    texts = store.document_texts(c.doc_id for c, _ in chosen)
    out = []
    for chunk, score in chosen:
        parts = [chunk, *(found[cid] for cid in neighbours(chunk.chunk_id) if cid in found)]
        start, end = min(p.start for p in parts), max(p.end for p in parts)
        text = texts.get(chunk.doc_id)
        if text is None or (start, end) == (chunk.start, chunk.end):
            out.append((chunk, score))
            continue
        out.append((replace(chunk, start=start, end=end, text=text[start:end]), score))
    return out


def select(
    candidates: Sequence[tuple[StoredChunk, float]], k: int, store: Store,
    tuning: RetrievalTuning = RetrievalTuning(),
) -> list[tuple[StoredChunk, float]]:
    """Up to `k` of the `(chunk, score)` candidates (best first): greedy by score, each further
    chunk of an already chosen report discounted, near-copies of a chosen report skipped."""
    remaining = list(candidates)
    finder: DuplicateFinder | None = None
    if tuning.duplicate_threshold <= 1.0 and len({c.doc_id for c, _ in remaining}) > 1:
        finder = DuplicateFinder(store.document_texts(c.doc_id for c, _ in remaining),
                                 tuning.duplicate_threshold)
    chosen: list[tuple[StoredChunk, float]] = []
    per_doc: dict[str, int] = {}
    duplicates: set[str] = set()
    while remaining and len(chosen) < k:
        best_i = max(range(len(remaining)),
                     key=lambda i: remaining[i][1] * tuning.same_doc_decay ** per_doc.get(remaining[i][0].doc_id, 0))
        chunk, score = remaining.pop(best_i)
        if chunk.doc_id in duplicates:
            continue
        if finder is not None and chunk.doc_id not in per_doc and finder.is_duplicate(chunk.doc_id, list(per_doc)):
            duplicates.add(chunk.doc_id)
            continue
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
        chosen.append((chunk, score))
    return chosen


def _passage(chunk: StoredChunk, score: float) -> Passage:
    return Passage(
        doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, date=chunk.date,
        chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end, text=chunk.text,
        score=round(score, 6),
    )


class DenseRetriever(_Selecting):
    """Nearest chunks by cosine similarity of MiniLM embeddings; score = cosine similarity."""

    def __init__(self, store: Store, embedder: Embedder,
                 tuning: RetrievalTuning = RetrievalTuning()) -> None:
        self.store = store
        self.embedder = embedder
        self.tuning = tuning

    def ranked(self, query: Query, n: int, chunk_filter: ChunkFilter) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, cosine)` pairs, best first."""
        vector = query.vector if query.vector is not None else self.embedder.embed_query(query.search_text)
        return self.store.search(vector, n, chunk_filter)


class KeywordRetriever(_Selecting):
    """Chunks ranked by BM25; score = BM25 score."""

    def __init__(self, store: Store, keyword: KeywordIndex,
                 tuning: RetrievalTuning = RetrievalTuning()) -> None:
        self.store = store
        self.keyword = keyword
        self.tuning = tuning

    def ranked(self, query: Query, n: int, chunk_filter: ChunkFilter) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, bm25)` pairs, best first."""
        hits = self.keyword.search(query.search_text, n, chunk_filter)
        chunks = {c.chunk_id: c for c in self.store.chunks_by_id([cid for cid, _ in hits])}
        return [(chunks[cid], score) for cid, score in hits if cid in chunks]

    def best_chunks(self, query: Query, doc_ids: Sequence[str]) -> dict[str, tuple[str, float]]:
        """Each report's chunk that best matches the query's words, with its BM25 score, by
        report id (reports matching no word are left out)."""
        return self.keyword.best_chunks(query.search_text, doc_ids)


class HybridRetriever(_Selecting):
    """Reports ranked by reciprocal rank fusion of three rankings, each represented by its best
    passage; score = the report's fused score.

    The rankings: dense (a report ranks by its nearest chunk), BM25 over chunks (by its best
    chunk) and BM25 over whole reports. A news report spreads the question's words over many
    paragraphs, so a 200-word-piece chunk sees only some of them; the whole report sees them
    all. Each report's passage is its chunk that best matches the question's words (by BM25
    among that report's chunks), which holds the answer more often than its nearest chunk by
    meaning (docs/evaluation.md has both measurements).
    Further chunks of a report follow it at a lower score, for `select` to use when there are
    fewer reports than passages wanted.
    """

    def __init__(
        self, dense: DenseRetriever, keyword: KeywordRetriever, documents: KeywordIndex,
        tuning: RetrievalTuning = RetrievalTuning(),
    ) -> None:
        self.dense = dense
        self.keyword = keyword
        self.documents = documents
        self.store = dense.store
        self.tuning = tuning

    def ranked(self, query: Query, n: int, chunk_filter: ChunkFilter) -> list[tuple[StoredChunk, float]]:
        """Up to `n` reports' best passages with the reports' fused scores, best first, then the
        other candidate chunks of those reports."""
        t = self.tuning
        dense = self.dense.ranked(query, n, chunk_filter)
        lexical = self.keyword.ranked(query, n, chunk_filter)
        whole = self.documents.search(query.search_text, n, chunk_filter)
        fused: dict[str, float] = {}
        for weight, doc_ids in (
            (t.dense_weight, [c.doc_id for c, _ in dense]),
            (1.0, [c.doc_id for c, _ in lexical]),
            (t.document_weight, [doc_id for doc_id, _ in whole]),
        ):
            for rank, doc_id in enumerate(dict.fromkeys(doc_ids)):  # a report ranks once, first
                fused[doc_id] = fused.get(doc_id, 0.0) + weight / (RRF_K + rank + 1)
        reports = sorted(fused, key=lambda d: -fused[d])[:n]
        candidates = {c.chunk_id: c for c, _ in (*dense, *lexical)}
        best = self.keyword.best_chunks(query, reports)
        missing = [cid for cid, _ in best.values() if cid not in candidates]
        candidates.update((c.chunk_id, c) for c in self.store.chunks_by_id(missing))
        # A report matching no word of the query is represented by its nearest chunk.
        nearest = {}
        for chunk, _ in dense:
            nearest.setdefault(chunk.doc_id, chunk.chunk_id)
        out: list[tuple[StoredChunk, float]] = []
        rest: list[tuple[StoredChunk, float]] = []
        for doc_id in reports:
            lead = best[doc_id][0] if doc_id in best else nearest.get(doc_id)
            if lead is None or lead not in candidates:
                continue
            out.append((candidates[lead], fused[doc_id]))
            rest.extend((c, fused[doc_id] * t.same_doc_decay) for c in candidates.values()
                        if c.doc_id == doc_id and c.chunk_id != lead)
        return out + rest


def make_retriever(
    mode: str, store: Store, keyword: KeywordIndex, documents: KeywordIndex,
    embedder: Embedder, tuning: RetrievalTuning = RetrievalTuning(),
) -> Retriever:
    """The retriever named by `mode` (one of RETRIEVAL_MODES); `keyword` indexes chunks,
    `documents` whole reports."""
    dense = DenseRetriever(store, embedder, tuning)
    lexical = KeywordRetriever(store, keyword, tuning)
    if mode == "hybrid":
        return HybridRetriever(dense, lexical, documents, tuning=tuning)
    if mode == "dense":
        return dense
    if mode == "bm25":
        return lexical
    raise ConfigError(f"unknown retrieval mode {mode!r}; known: {', '.join(RETRIEVAL_MODES)}")
