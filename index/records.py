"""Chunks as the store keeps them, and the filters a search takes: shared by the Chroma store,
the BM25 keyword index and retrieval, so none of them depends on another for its types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as it is stored: text, offsets and its report's facts."""

    chunk_id: str
    doc_id: str
    title: str
    source: str
    date: str | None
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ChunkFilter:
    """Restrictions on which chunks a search may return."""

    date_to: str | None = None  # YYYY-MM-DD inclusive; reports with no date are kept
    date_from: str | None = None  # YYYY-MM-DD inclusive; reports with no date are dropped
    sources: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is restricted."""
        return not (self.date_to or self.date_from or self.sources or self.doc_ids)

    def accepts_rows(self, doc_ids: np.ndarray, sources: np.ndarray, date_ords: np.ndarray) -> np.ndarray:
        """Which rows pass (the same test as the store's Chroma `where` clause, for results found outside Chroma),
        given the rows' doc ids, sources and date ordinals as arrays; a boolean mask."""
        mask = np.ones(len(date_ords), dtype=bool)
        if self.doc_ids:
            mask &= np.isin(doc_ids, list(self.doc_ids))
        if self.sources:
            mask &= np.isin(sources, list(self.sources))
        if self.date_to:
            mask &= date_ords <= date_ordinal(self.date_to)
        if self.date_from:
            mask &= date_ords >= date_ordinal(self.date_from)
        return mask

    def accepts_chunks(self, chunks: Sequence[StoredChunk]) -> np.ndarray:
        """Which of `chunks` pass (`accepts_rows` on their facts); a boolean mask."""
        return self.accepts_rows(
            np.array([c.doc_id for c in chunks], dtype=object),
            np.array([c.source for c in chunks], dtype=object),
            np.array([date_ordinal(c.date) for c in chunks], dtype=np.int64),
        )


def date_ordinal(iso: str | None) -> int:
    """YYYY-MM-DD as the integer YYYYMMDD (0 for unknown), which Chroma can compare."""
    return int(iso.replace("-", "")) if iso else 0
