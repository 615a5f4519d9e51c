"""The BM25 keyword index (bm25s), kept next to the store and derived from it.

The index is a cache of the Chroma collection: it records which reports and how many chunks it
was built from, and is rebuilt whenever that no longer matches the store (another process
ingested, an ingest was interrupted), so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from index.store import ChunkFilter, StoredChunk, date_ordinal

STATE_FILE = "state.json"


@dataclass(frozen=True)
class Stamp:
    """What a keyword index was built from."""

    chunks: int
    documents_digest: str

    @classmethod
    def of(cls, chunk_count: int, document_ids: Iterable[str]) -> "Stamp":
        """The stamp of a store holding `chunk_count` chunks of `document_ids`."""
        digest = hashlib.sha256("\n".join(sorted(document_ids)).encode()).hexdigest()
        return cls(chunks=chunk_count, documents_digest=digest)


def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional: BM25 still works on unstemmed words
        return None


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed words (as strings) of each text."""
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )


class KeywordIndex:
    """BM25 over chunk texts (title included), with the facts needed to filter results."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._retriever = None
        self._ids: list[str] = []
        self._doc_ids: list[str] = []
        self._sources: list[str] = []
        self._date_ords = np.zeros(0, dtype=np.int64)
        self.stamp: Stamp | None = None
        self._load()

    def _load(self) -> None:
        state_file = self.path / STATE_FILE
        if not state_file.exists():
            return
        try:
            state = json.loads(state_file.read_text())
            retriever = None
            if state["ids"]:
                import bm25s

                retriever = bm25s.BM25.load(str(self.path / "bm25"))
        except (OSError, ValueError, KeyError):
            return  # a damaged cache is rebuilt from the store
        self._retriever = retriever
        self._ids = state["ids"]
        self._doc_ids = state["doc_ids"]
        self._sources = state["sources"]
        self._date_ords = np.asarray(state["date_ords"], dtype=np.int64)
        self.stamp = Stamp(**state["stamp"])

    def rebuild(self, chunks: Iterable[StoredChunk], stamp: Stamp) -> None:
        """Index `chunks` from scratch and save, replacing the old files atomically."""
        import bm25s

        chunks = list(chunks)
        retriever = None
        if chunks:
            retriever = bm25s.BM25()
            retriever.index(
                tokenize([f"{c.title}\n{c.text}" for c in chunks]), show_progress=False
            )
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(tmp / "bm25"))
        state = {
            "ids": [c.chunk_id for c in chunks],
            "doc_ids": [c.doc_id for c in chunks],
            "sources": [c.source for c in chunks],
            "date_ords": [date_ordinal(c.date) for c in chunks],
            "stamp": {"chunks": stamp.chunks, "documents_digest": stamp.documents_digest},
        }
        (tmp / STATE_FILE).write_text(json.dumps(state))
        with self._lock:
            old = self.path.with_name(self.path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.path.exists():
                self.path.rename(old)
            tmp.rename(self.path)
            shutil.rmtree(old, ignore_errors=True)
            self._retriever = retriever
            self._ids = state["ids"]
            self._doc_ids = state["doc_ids"]
            self._sources = state["sources"]
            self._date_ords = np.asarray(state["date_ords"], dtype=np.int64)
            self.stamp = stamp

    def search(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        """`(chunk_id, bm25 score)` of the best `k` chunks with a positive score."""
        with self._lock:
            retriever, ids = self._retriever, self._ids
            doc_ids, sources, date_ords = self._doc_ids, self._sources, self._date_ords
        if retriever is None or not ids:
            return []
        tokens = [t for t in tokenize([query])[0] if t in retriever.vocab_dict]
        if not tokens:
            return []
        mask = None
        if chunk_filter and not chunk_filter.is_empty():
            mask = np.array(
                [chunk_filter.accepts(d, s, int(o)) for d, s, o in zip(doc_ids, sources, date_ords)],
                dtype=np.float32,
            )
            if not mask.any():
                return []
        k = min(k, len(ids))
        results, scores = retriever.retrieve(
            [tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (ids[int(i)], float(s)) for i, s in zip(results[0], scores[0]) if float(s) > 0.0
        ]
