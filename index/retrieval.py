"""Retrievers: dense (Chroma), keyword (BM25) and hybrid (reciprocal rank fusion of both).

Every retriever returns `Passage`s, best first, through the same small interface. After the
first stage, one news-aware selection step (`select`) is shared by all three:

- time: with a `Preference.as_of`, reports close to it get a mild boost that decays with age;
  reports inside the question's time frame ("last week", see assistant/timeframe.py) a strong
  one, and extra candidates are fetched from inside that frame. Undated reports are neither
  boosted nor dropped.
- diversity: each further passage of a report already chosen counts `same_doc_decay` times less,
  so the k passages are not k slices of one article when others are relevant (they still are
  when nothing else is).
- near-duplicates: a report whose text is a near-copy of one already chosen (the same wire story
  in another outlet, index/dedup.py) is skipped, so the story is cited once, from its
  best-ranked copy.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Protocol, Sequence

from assistant.errors import ConfigError
from assistant.models import Passage
from index.dedup import DUPLICATE_THRESHOLD, DuplicateFinder
from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.store import ChromaStore, ChunkFilter, StoredChunk

RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
RRF_K = 60  # the constant of Cormack et al. (2009); larger flattens the rank curve
CANDIDATES = 4  # each first-stage retriever returns k * CANDIDATES candidates for fusion


@dataclass(frozen=True)
class RetrievalTuning:
    """Weights of the news-aware selection, tuned on the generated news set (README)."""

    candidates: int = CANDIDATES  # first-stage depth: k * candidates, at least min_candidates
    min_candidates: int = 20
    recency_weight: float = 0.2  # boost of a report published on as_of; halves every half-life
    recency_half_life_days: float = 30.0
    window_boost: float = 1.0  # a report inside the question's time frame scores (1 + this) x
    window_slack_days: int = 1  # a report the day after the frame still covers it
    same_doc_decay: float = 0.5  # each further passage of one report is worth this much less
    duplicate_threshold: float = DUPLICATE_THRESHOLD  # shingle Jaccard of near-copies; > 1 = off
    dense_weight: float = 1.0  # weight of the dense ranking in hybrid fusion (BM25's is 1)


@dataclass(frozen=True)
class Preference:
    """What a question prefers beyond its words: reports near `as_of`, inside `window`."""

    as_of: date | None = None
    window_start: date | None = None
    window_end: date | None = None

    def factor(self, day: str | None, tuning: RetrievalTuning) -> float:
        """The multiplier of a passage's score for a report published on `day`."""
        if not day:
            return 1.0
        try:
            published = date.fromisoformat(day)
        except ValueError:
            return 1.0
        factor = 1.0
        if self.as_of is not None and tuning.recency_weight:
            age = (self.as_of - published).days
            if age >= 0:
                factor *= 1.0 + tuning.recency_weight * 0.5 ** (age / tuning.recency_half_life_days)
        if self.has_window and self._in_window(published, tuning):
            factor *= 1.0 + tuning.window_boost
        return factor

    @property
    def has_window(self) -> bool:
        return self.window_start is not None or self.window_end is not None

    def _slack_end(self, tuning: RetrievalTuning) -> date | None:
        """The window's last day plus the slack, no later than the calendar's last day."""
        if self.window_end is None:
            return None
        if (date.max - self.window_end).days < tuning.window_slack_days:
            return date.max
        return self.window_end + timedelta(days=tuning.window_slack_days)

    def _in_window(self, day: date, tuning: RetrievalTuning) -> bool:
        end = self._slack_end(tuning)
        return (self.window_start is None or day >= self.window_start) and (end is None or day <= end)

    def window_filter(self, base: ChunkFilter | None, tuning: RetrievalTuning) -> ChunkFilter:
        """`base` narrowed to the time frame (plus its slack)."""
        base = base or ChunkFilter()
        end = self._slack_end(tuning)
        end = end.isoformat() if end else None
        start = self.window_start.isoformat() if self.window_start else None
        date_to = min(filter(None, (end, base.date_to)), default=None)
        date_from = max(filter(None, (start, base.date_from)), default=None)
        return replace(base, date_to=date_to, date_from=date_from)


class Retriever(Protocol):
    """Finds the passages most relevant to a query."""

    def retrieve(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None,
        prefer: Preference | None = None,
    ) -> list[Passage]:
        """The best `k` passages for `query`, best first."""
        ...


class _Selecting:
    """`retrieve()` built once on a subclass's `ranked()` (first stage) and `select()`."""

    store: ChromaStore
    tuning: RetrievalTuning = RetrievalTuning()

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        raise NotImplementedError

    def retrieve(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None,
        prefer: Preference | None = None,
    ) -> list[Passage]:
        """The `k` best passages: first-stage candidates, time preference, diversity, no copies."""
        t = self.tuning
        n = max(k * t.candidates, t.min_candidates)
        scored: dict[str, tuple[StoredChunk, float]] = {}
        pools = [self.ranked(query, n, chunk_filter)]
        if prefer is not None and prefer.has_window:
            pools.append(self.ranked(query, n, prefer.window_filter(chunk_filter, t)))
        for pool in pools:
            for chunk, score in pool:
                if chunk.chunk_id not in scored or score > scored[chunk.chunk_id][1]:
                    scored[chunk.chunk_id] = (chunk, score)
        candidates = [
            (chunk, score * (prefer.factor(chunk.date, t) if prefer else 1.0))
            for chunk, score in scored.values()
        ]
        candidates.sort(key=lambda pair: -pair[1])
        return [_passage(c, s) for c, s in select(candidates, k, self.store, t)]


def select(
    candidates: Sequence[tuple[StoredChunk, float]], k: int, store: ChromaStore,
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

    def __init__(self, store: ChromaStore, embedder: Embedder,
                 tuning: RetrievalTuning = RetrievalTuning()) -> None:
        self.store = store
        self.embedder = embedder
        self.tuning = tuning

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, cosine)` pairs, best first."""
        vector = self.embedder.embed_query(query)
        return self.store.search(vector, n, chunk_filter)


class KeywordRetriever(_Selecting):
    """Chunks ranked by BM25; score = BM25 score."""

    def __init__(self, store: ChromaStore, keyword: KeywordIndex,
                 tuning: RetrievalTuning = RetrievalTuning()) -> None:
        self.store = store
        self.keyword = keyword
        self.tuning = tuning

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, bm25)` pairs, best first."""
        hits = self.keyword.search(query, n, chunk_filter)
        chunks = {c.chunk_id: c for c in self.store.chunks_by_id([cid for cid, _ in hits])}
        return [(chunks[cid], score) for cid, score in hits if cid in chunks]


class HybridRetriever(_Selecting):
    """Dense and BM25 candidates fused by reciprocal rank; score = the fused score."""

    def __init__(
        self, dense: DenseRetriever, keyword: KeywordRetriever,
        tuning: RetrievalTuning = RetrievalTuning(),
    ) -> None:
        self.dense = dense
        self.keyword = keyword
        self.store = dense.store
        self.tuning = tuning

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, fused score)` pairs by reciprocal rank fusion, best first."""
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        for weight, ranked in (
            (self.tuning.dense_weight, self.dense.ranked(query, n, chunk_filter)),
            (1.0, self.keyword.ranked(query, n, chunk_filter)),
        ):
            for rank, (chunk, _) in enumerate(ranked):
                chunks[chunk.chunk_id] = chunk
                fused[chunk.chunk_id] = fused.get(chunk.chunk_id, 0.0) + weight / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda cid: -fused[cid])[:n]
        return [(chunks[cid], fused[cid]) for cid in best]


def make_retriever(
    mode: str, store: ChromaStore, keyword: KeywordIndex, embedder: Embedder,
    tuning: RetrievalTuning = RetrievalTuning(),
) -> Retriever:
    """The retriever named by `mode` (one of RETRIEVAL_MODES)."""
    dense = DenseRetriever(store, embedder, tuning)
    lexical = KeywordRetriever(store, keyword, tuning)
    if mode == "hybrid":
        return HybridRetriever(dense, lexical, tuning=tuning)
    if mode == "dense":
        return dense
    if mode == "bm25":
        return lexical
    raise ConfigError(f"unknown retrieval mode {mode!r}; known: {', '.join(RETRIEVAL_MODES)}")
