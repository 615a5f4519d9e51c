"""The delta: chunks added since the base index was built, scored at query time with the
statistics of the base index and the delta together, so an update need not rebuild the main
index."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Sequence

import numpy as np

from index.keyword.base import B, K1, _Base, _Rows, _offsets
from index.keyword.tokens import _index_text, _token_ids
from index.records import ChunkFilter, StoredChunk

TF_CACHE = 256  # query words whose delta term frequencies are kept


@dataclass
class _Delta:
    """Chunks added since the base index was built, as token ids in the base index's id space;
    words the base vocabulary lacks get the ids after it, in `extra`, so a fold keeps every id."""

    rows: _Rows
    tokens: np.ndarray  # int32, all rows' token ids, concatenated
    offsets: np.ndarray  # int64, len(rows) + 1
    extra: dict[str, int]

    @classmethod
    def empty(cls) -> "_Delta":
        return cls(_Rows(), np.zeros(0, np.int32), np.zeros(1, np.int64), {})

    @cached_property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    @cached_property
    def _row_of_token(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.rows.ids), dtype=np.int64), self.lengths)

    @cached_property
    def _tf_cache(self) -> dict[int, np.ndarray]:
        return {}

    def term_frequencies(self, term: int) -> np.ndarray:
        """How often `term` occurs in each row: one pass over the delta's tokens, kept for the
        next queries (retrieval asks twice per question, chunks and best chunks); the cache goes
        with this delta, which every change replaces."""
        cache = self._tf_cache
        tf = cache.get(term)  # get, not `in` then `[]`: another query's thread may clear it between
        if tf is None:
            tf = np.bincount(self._row_of_token[self.tokens == term], minlength=len(self.rows.ids))
            if len(cache) >= TF_CACHE:
                cache.clear()
            cache[term] = tf
        return tf

    def changed(self, vocab: dict[str, int], added: Sequence[StoredChunk], removed: set[str]) -> "_Delta":
        """This delta without the rows of `removed` reports and with `added` chunks."""
        keep = np.array([d not in removed for d in self.rows.doc_ids], dtype=bool)
        kept_tokens = self.tokens[np.repeat(keep, self.lengths)] if len(keep) else self.tokens
        extra = dict(self.extra)

        def lookup(word: str) -> int:
            i = vocab.get(word)
            return i if i is not None else extra.setdefault(word, len(vocab) + len(extra))

        new = list(_token_ids((_index_text(c) for c in added), lookup))
        lengths = np.concatenate([self.lengths[keep], [len(t) for t in new]]).astype(np.int64)
        return _Delta(self.rows.keep(np.flatnonzero(keep).tolist()).extend(_Rows.of(added)),
                      np.concatenate([kept_tokens, *new]).astype(np.int32, copy=False),
                      _offsets(lengths), extra)


class _Scorer:
    """BM25 (bm25s' Lucene variant) for one query, with the statistics of the base index and the
    delta together: for the delta's rows (outside bm25s' own index), and for scoring a few chosen
    rows without scoring them all."""

    def __init__(self, main: _Base, delta: _Delta, words: list[str]) -> None:
        self.delta = delta
        # A repeated query word counts again, as in bm25s; unknown words (-1) score nothing.
        self.ids = [main.vocab.get(w, delta.extra.get(w, -1)) for w in words]
        n = len(main.rows.ids) + len(delta.rows.ids)
        self.avgdl = (main.total_length + len(delta.tokens)) / max(n, 1)
        self.tfs = {i: delta.term_frequencies(i) for i in set(self.ids) if i >= 0}
        self.idf: dict[int, float] = {}
        for i, tf in self.tfs.items():
            df = (int(main.df[i]) if i < len(main.df) else 0) + int(np.count_nonzero(tf))
            self.idf[i] = math.log(1 + (n - df + 0.5) / (df + 0.5))

    def score_rows(self, tokens: np.ndarray, offsets: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        """The scores of `rows` of the flat token ids `tokens` (row i's from `offsets[i]`), all
        at once: row by row, a candidate report of many chunks would cost a Python loop per
        chunk."""
        chosen = np.asarray(rows, dtype=np.int64)
        starts, lengths = offsets[chosen], offsets[chosen + 1] - offsets[chosen]
        if not len(chosen) or not lengths.sum():
            return np.zeros(len(chosen))
        # Each chosen row's token positions, then which row each position belongs to.
        row_of = np.repeat(np.arange(len(chosen)), lengths)
        positions = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        ids = np.asarray(tokens)[positions]
        return self._sum(lambda i: np.bincount(row_of[ids == i], minlength=len(chosen)), lengths)

    def delta_scores(self) -> np.ndarray:
        """The score of every delta row, from the delta's cached term frequencies."""
        return self._sum(self.tfs.__getitem__, self.delta.lengths)

    def _sum(self, term_frequencies: Callable[[int], np.ndarray], lengths: np.ndarray) -> np.ndarray:
        """BM25 of rows `lengths` long, each query word's frequency in them given by
        `term_frequencies(word id)`."""
        norm = K1 * (1 - B + B * lengths / self.avgdl)
        scores = np.zeros(len(lengths))
        for i in self.ids:  # a repeated query word counts again, as in bm25s
            if i >= 0:
                tf = term_frequencies(i)
                scores += self.idf[i] * tf / (tf + norm)
        return scores

    def delta_hits(self, chunk_filter: ChunkFilter | None) -> list[tuple[str, float]]:
        """`(chunk_id, score)` of every delta row with a positive score that passes the filter."""
        rows = self.delta.rows
        scores = self.delta_scores()
        if chunk_filter and not chunk_filter.is_empty():
            scores[~chunk_filter.accepts_rows(*rows.facts())] = 0.0
        return [(rows.ids[int(r)], float(scores[r])) for r in np.flatnonzero(scores > 0)]
