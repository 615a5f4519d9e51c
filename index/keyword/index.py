"""`KeywordIndex`: the base index and the delta together, updated in place or folded, and
searched."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from index.common.text import tokenize
from index.keyword.delta import _Delta, _Scorer
from index.keyword.format import Stamp, read, swap_in, write, write_state
from index.keyword.base import _Base, _Rows
from index.keyword.tokens import _index_text, _token_ids
from index.records import ChunkFilter, StoredChunk

# Counted in tokens, not rows: a whole-report row holds all its chunks' tokens, so counted in
# rows, the report index would rebuild far more tokens on an update than the chunk index.
DELTA_MIN_TOKENS = 2_000_000  # below this many cached tokens, every update rebuilds BM25 from them
DELTA_SHARE = 0.1  # fold the delta into the base index when its tokens exceed this share of it
# ... or this many tokens, whichever is less: a query reads every delta token once per new query
# word, so this bounds what the delta adds to a query, while each fold rebuilds the whole main
# index, so folds must stay rare.
DELTA_MAX_TOKENS = 2_000_000


class KeywordIndex:
    """BM25 over chunk texts (title included), with the facts needed to filter results."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._main = _Base.build(_Rows(), {}, [])
        self._delta = _Delta.empty()
        self._deleted: set[str] = set()  # reports removed from the base index since it was built
        self._alive: np.ndarray | None = None  # main rows not deleted (None: all)
        self.stamp: Stamp | None = None
        self._load()

    # --- persistence ---------------------------------------------------------------------

    def _load(self) -> None:
        try:
            main, delta, deleted, stamp = read(self.path)
        except (OSError, ValueError, KeyError, TypeError):
            return  # missing, damaged or of an older layout: rebuilt from the store
        self._set(main, delta, deleted, stamp)

    def _set(self, main: _Base, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
        alive = main.live(deleted).astype(np.float32) if deleted else None
        with self._lock:
            self._main, self._delta = main, delta
            self._deleted, self._alive, self.stamp = deleted, alive, stamp

    def _save_all(self, main: _Base, stamp: Stamp) -> None:
        """Save `main` with an empty delta, replacing the saved index in one swap."""
        main = write(self.path, main, stamp)
        with self._lock:
            swap_in(self.path)
        self._set(main, _Delta.empty(), set(), stamp)

    def _save_state(self, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
        write_state(self.path, delta, deleted, stamp)
        self._set(self._main, delta, deleted, stamp)

    # --- building ------------------------------------------------------------------------

    def rebuild(self, chunks: Iterable[StoredChunk], stamp: Stamp) -> None:
        """Index `chunks` from scratch and save, replacing the old files atomically. The chunks
        are read one at a time: only their facts and token ids are kept, not their texts."""
        rows = _Rows()
        vocab: dict[str, int] = {}

        def texts() -> Iterator[str]:
            for chunk in chunks:
                rows.append(chunk)
                yield _index_text(chunk)

        lists = list(_token_ids(texts(), lambda word: vocab.setdefault(word, len(vocab))))
        self._save_all(_Base.build(rows, vocab, lists), stamp)

    def update(self, added: Sequence[StoredChunk], removed_doc_ids: Iterable[str], stamp: Stamp) -> None:
        """Apply an ingest or deletion: `added` chunks in, every chunk of `removed_doc_ids` out.

        Call only when this index matched the store before the change (its stamp did);
        `stamp` is the store's stamp after it.
        """
        removed = set(removed_doc_ids)
        main = self._main
        delta = self._delta.changed(main.vocab, added, removed)
        deleted = self._deleted | {main.rows.doc_ids[i] for i in main.rows_of(removed)}
        main_tokens = len(main.tokens)
        if (main_tokens < DELTA_MIN_TOKENS
                or len(delta.tokens) > min(DELTA_SHARE * main_tokens, DELTA_MAX_TOKENS)):
            self._fold(delta, deleted, stamp)
        else:
            self._save_state(delta, deleted, stamp)

    def _fold(self, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
        """Rebuild the base index from cached tokens: live main rows plus the delta."""
        main = self._main
        keep = main.live(deleted)
        lengths = np.diff(main.offsets)
        live = main.tokens if keep.all() else main.tokens[np.repeat(keep, lengths)]  # no copy to drop nothing
        tokens = np.concatenate([live, delta.tokens])
        vocab = main.vocab | delta.extra  # the delta's new words already hold the ids after main's
        rows = main.rows.keep(np.flatnonzero(keep).tolist()).extend(delta.rows)
        self._save_all(_Base.from_flat(rows, vocab, tokens, np.concatenate([lengths[keep], delta.lengths])), stamp)

    # --- searching -----------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            alive = len(self._main.rows.ids) if self._alive is None else int(self._alive.sum())
            return alive + len(self._delta.rows.ids)

    def search(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        """`(chunk_id, bm25 score)` of the best `k` chunks with a positive score."""
        with self._lock:
            main, alive, delta = self._main, self._alive, self._delta
        words = tokenize([query])[0]
        hits = self._search_main(main, alive, words, k, chunk_filter)
        if delta.rows.ids and words:
            hits += _Scorer(main, delta, words).delta_hits(chunk_filter)
        hits.sort(key=lambda h: -h[1])
        return hits[:k]

    def best_chunks(self, query: str, doc_ids: Iterable[str]) -> dict[str, tuple[str, float]]:
        """`{doc_id: (chunk_id, bm25 score)}`: the chunk of each report in `doc_ids` that best
        matches `query`, scored with the whole index's statistics; reports none of whose chunks
        holds a query word are left out. Scores only those reports' chunks, from cached tokens."""
        with self._lock:
            main, alive, delta = self._main, self._alive, self._delta
        words = tokenize([query])[0]
        wanted = set(doc_ids)
        if not words or not wanted:
            return {}
        scorer = _Scorer(main, delta, words)
        best: dict[str, tuple[str, float]] = {}

        def consider(rows: _Rows, chosen: list[int], scores: np.ndarray) -> None:
            for i, score in zip(chosen, scores.tolist()):
                doc_id = rows.doc_ids[i]
                if score > 0 and (doc_id not in best or score > best[doc_id][1]):
                    best[doc_id] = (rows.ids[i], score)

        chosen = [i for d in wanted for i in main.rows_by_doc.get(d, ()) if alive is None or alive[i]]
        consider(main.rows, chosen, scorer.score_rows(main.tokens, main.offsets, chosen))
        chosen = [i for i, d in enumerate(delta.rows.doc_ids) if d in wanted]
        consider(delta.rows, chosen, scorer.delta_scores()[chosen])
        return best

    @staticmethod
    def _search_main(main: _Base, alive: np.ndarray | None, words: list[str], k: int,
                     chunk_filter: ChunkFilter | None) -> list[tuple[str, float]]:
        """The best `k` live main rows passing the filter. Scores are summed from the query words'
        columns of bm25s' matrix here: bm25s' own `retrieve` makes whole-corpus passes in a
        thread pool, where the query words' columns alone give the same ranking."""
        retriever, rows = main.retriever, main.rows
        if retriever is None or not rows.ids:
            return []
        columns = [retriever.vocab_dict[t] for t in words if t in retriever.vocab_dict]
        if not columns:
            return []
        mask = alive
        if chunk_filter and not chunk_filter.is_empty():
            accepts = chunk_filter.accepts_rows(*main.row_facts).astype(np.float32)
            mask = accepts if mask is None else mask * accepts
        data, indices, indptr = (retriever.scores[key] for key in ("data", "indices", "indptr"))
        scores = np.zeros(len(rows.ids), dtype=np.float32)
        for column in columns:  # a repeated query word counts again, as in bm25s
            start, end = indptr[column], indptr[column + 1]
            scores[indices[start:end]] += data[start:end]
        if mask is not None:
            scores *= mask
        k = min(k, len(rows.ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]  # ties in row order, run after run
        return [(rows.ids[int(i)], float(scores[i])) for i in top if scores[i] > 0.0]
