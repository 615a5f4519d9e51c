"""Retrievers: dense (Chroma), keyword (BM25) and hybrid (reciprocal rank fusion of both).

Every retriever returns `Passage`s, best first, through the same small interface.
"""

from __future__ import annotations

from typing import Protocol

from assistant.errors import ConfigError
from assistant.models import Passage
from index.embedding import Embedder
from index.keyword import KeywordIndex
from index.store import ChromaStore, ChunkFilter, StoredChunk

RETRIEVAL_MODES = ("hybrid", "dense", "bm25")
RRF_K = 60  # the constant of Cormack et al. (2009); larger flattens the rank curve
CANDIDATES = 4  # each first-stage retriever returns k * CANDIDATES candidates for fusion


class Retriever(Protocol):
    """Finds the passages most relevant to a query."""

    def retrieve(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[Passage]:
        """The best `k` passages for `query`, best first."""
        ...


def _passage(chunk: StoredChunk, score: float) -> Passage:
    return Passage(
        doc_id=chunk.doc_id, title=chunk.title, source=chunk.source, date=chunk.date,
        chunk_id=chunk.chunk_id, start=chunk.start, end=chunk.end, text=chunk.text,
        score=round(score, 6),
    )


class DenseRetriever:
    """Nearest chunks by cosine similarity of MiniLM embeddings; score = cosine similarity."""

    def __init__(self, store: ChromaStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, cosine)` pairs, best first."""
        vector = self.embedder.embed([query])[0]
        return self.store.search(vector, n, chunk_filter)

    def retrieve(self, query: str, k: int, chunk_filter: ChunkFilter | None = None) -> list[Passage]:
        """The `k` nearest passages."""
        return [_passage(c, s) for c, s in self.ranked(query, k, chunk_filter)]


class KeywordRetriever:
    """Chunks ranked by BM25; score = BM25 score."""

    def __init__(self, store: ChromaStore, keyword: KeywordIndex) -> None:
        self.store = store
        self.keyword = keyword

    def ranked(self, query: str, n: int, chunk_filter: ChunkFilter | None) -> list[tuple[StoredChunk, float]]:
        """Up to `n` `(chunk, bm25)` pairs, best first."""
        hits = self.keyword.search(query, n, chunk_filter)
        chunks = {c.chunk_id: c for c in self.store.chunks_by_id([cid for cid, _ in hits])}
        return [(chunks[cid], score) for cid, score in hits if cid in chunks]

    def retrieve(self, query: str, k: int, chunk_filter: ChunkFilter | None = None) -> list[Passage]:
        """The `k` best passages by BM25."""
        return [_passage(c, s) for c, s in self.ranked(query, k, chunk_filter)]


class HybridRetriever:
    """Dense and BM25 candidates fused by reciprocal rank; score = the fused score."""

    def __init__(
        self, dense: DenseRetriever, keyword: KeywordRetriever,
        dense_weight: float = 1.0, keyword_weight: float = 1.0,
    ) -> None:
        self.dense = dense
        self.keyword = keyword
        self.dense_weight = dense_weight
        self.keyword_weight = keyword_weight

    def retrieve(self, query: str, k: int, chunk_filter: ChunkFilter | None = None) -> list[Passage]:
        """The `k` best passages by reciprocal rank fusion."""
        n = max(k * CANDIDATES, 20)
        fused: dict[str, float] = {}
        chunks: dict[str, StoredChunk] = {}
        for weight, ranked in (
            (self.dense_weight, self.dense.ranked(query, n, chunk_filter)),
            (self.keyword_weight, self.keyword.ranked(query, n, chunk_filter)),
        ):
            for rank, (chunk, _) in enumerate(ranked):
                chunks[chunk.chunk_id] = chunk
                fused[chunk.chunk_id] = fused.get(chunk.chunk_id, 0.0) + weight / (RRF_K + rank + 1)
        best = sorted(fused, key=lambda cid: -fused[cid])[:k]
        return [_passage(chunks[cid], fused[cid]) for cid in best]


def make_retriever(
    mode: str, store: ChromaStore, keyword: KeywordIndex, embedder: Embedder
) -> Retriever:
    """The retriever named by `mode` (one of RETRIEVAL_MODES)."""
    dense = DenseRetriever(store, embedder)
    lexical = KeywordRetriever(store, keyword)
    if mode == "hybrid":
        return HybridRetriever(dense, lexical)
    if mode == "dense":
        return dense
    if mode == "bm25":
        return lexical
    raise ConfigError(f"unknown retrieval mode {mode!r}; known: {', '.join(RETRIEVAL_MODES)}")
