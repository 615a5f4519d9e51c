"""The BM25 keyword index (bm25s), kept next to the store and derived from it.

The index is a cache of the Chroma collection: it records which reports and how many chunks it
was built from (its `Stamp`), and is rebuilt whenever that no longer matches the store (another
process ingested, an ingest was interrupted), so the two cannot drift apart.

It scales with the store without rebuilding from Chroma on every ingest:
- every chunk's tokens are cached (as ids into a vocabulary), so a rebuild needs neither Chroma
  nor the tokenizer;
- up to `DELTA_MIN_TOKENS` cached tokens (about 20,000 chunks, or 1,700 whole reports), an update
  rebuilds BM25 from the cached tokens (well under a second);
- above it, new chunks go to a small *delta* scored at query time with the same BM25 formula and
  the corpus statistics of main + delta, and deleted reports are masked out of the main index
  immediately; the delta is folded into the main index once it exceeds `DELTA_SHARE` of it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from index.common.text import tokenize
from index.records import ChunkFilter, StoredChunk, date_ordinal

STATE_FILE = "state.json"  # stamp, delta and deleted reports: small, rewritten on every update
MAIN_FILE = "main.json"  # the main index's chunk facts and vocabulary
TOKENS_FILE = "tokens.npy"  # the main index's token ids, flat, with offsets
OFFSETS_FILE = "offsets.npy"
DF_FILE = "df.npy"  # each vocabulary token's document frequency, so loading need not count it
# Counted in tokens, not rows: a whole-report row holds about 11 chunks' tokens, and the report
# index, counted in rows, rebuilt 100,000 chunks' worth of tokens on every ingest (14 s at 100k).
DELTA_MIN_TOKENS = 2_000_000  # below this many cached tokens, every update rebuilds BM25 from them
DELTA_SHARE = 0.1  # fold the delta into the main index when its tokens exceed this share of it
K1, B = 1.5, 0.75  # bm25s defaults (method "lucene")


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


def _index_text(chunk: StoredChunk) -> str:
    return f"{chunk.title}\n{chunk.text}"


@dataclass
class _Rows:
    """Facts of indexed chunks, row by row."""

    ids: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    date_ords: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, chunks: Sequence[StoredChunk]) -> "_Rows":
        return cls([c.chunk_id for c in chunks], [c.doc_id for c in chunks],
                   [c.source for c in chunks], [date_ordinal(c.date) for c in chunks])

    def to_dict(self) -> dict:
        return {"ids": self.ids, "doc_ids": self.doc_ids, "sources": self.sources,
                "date_ords": self.date_ords}

    def keep(self, rows: Sequence[int]) -> "_Rows":
        return _Rows([self.ids[i] for i in rows], [self.doc_ids[i] for i in rows],
                     [self.sources[i] for i in rows], [self.date_ords[i] for i in rows])

    def facts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Doc ids, sources and date ordinals as arrays, for `ChunkFilter.accepts_rows`."""
        return (np.array(self.doc_ids, dtype=object), np.array(self.sources, dtype=object),
                np.array(self.date_ords, dtype=np.int64))

    def extend(self, other: "_Rows") -> "_Rows":
        return _Rows(self.ids + other.ids, self.doc_ids + other.doc_ids,
                     self.sources + other.sources, self.date_ords + other.date_ords)


@dataclass
class _Main:
    """The bm25s index and the cached tokens it was built from."""

    rows: _Rows
    vocab: dict[str, int]
    tokens: np.ndarray  # int32, all rows' token ids, concatenated
    offsets: np.ndarray  # int64, len(rows) + 1
    retriever: object | None
    df: np.ndarray  # documents containing each vocabulary token
    total_length: int

    @classmethod
    def build(cls, rows: _Rows, vocab: dict[str, int], token_lists: list[np.ndarray]) -> "_Main":
        import bm25s

        retriever = None
        if rows.ids:
            retriever = bm25s.BM25()
            ids = [t.tolist() for t in token_lists]
            retriever.index((ids, dict(vocab)), show_progress=False)
        lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        tokens = np.concatenate(token_lists).astype(np.int32) if token_lists else np.zeros(0, np.int32)
        return cls(rows, vocab, tokens, offsets, retriever, _df(tokens, offsets, len(vocab)),
                   int(lengths.sum()))

    @cached_property
    def row_facts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows' facts as arrays, for filtering them at once (`_Rows.facts`)."""
        return self.rows.facts()

    @cached_property
    def rows_by_doc(self) -> dict[str, list[int]]:
        """Row numbers of each report's chunks (built on first use: at 1M rows, ~0.3 s)."""
        by_doc: dict[str, list[int]] = {}
        for i, doc_id in enumerate(self.rows.doc_ids):
            by_doc.setdefault(doc_id, []).append(i)
        return by_doc


def _df(tokens: np.ndarray, offsets: np.ndarray, size: int) -> np.ndarray:
    """How many rows contain each vocabulary id, from the flat token ids and row offsets.

    Sorting the (row, token) keys and keeping the first of each run beats `np.unique`'s hashing
    by about 6x (10M tokens, 100,000 chunks: 0.9 s against 5.8 s).
    """
    if len(tokens) == 0 or size == 0:
        return np.zeros(size, dtype=np.int64)
    rows = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))
    keys = rows * size + tokens.astype(np.int64)
    keys.sort()
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.bincount(keys[first] % size, minlength=size).astype(np.int64)


class KeywordIndex:
    """BM25 over chunk texts (title included), with the facts needed to filter results."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._main = _Main.build(_Rows(), {}, [])
        self._delta_rows = _Rows()
        self._delta_tokens: list[list[str]] = []
        self._deleted: set[str] = set()  # reports removed from the main index since it was built
        self._alive: np.ndarray | None = None  # main rows not deleted (None: all)
        self.stamp: Stamp | None = None
        self._load()

    # --- persistence ---------------------------------------------------------------------

    def _load(self) -> None:
        try:
            state = json.loads((self.path / STATE_FILE).read_text())
            main_state = json.loads((self.path / MAIN_FILE).read_text())
            rows = _Rows(**main_state["rows"])
            retriever = None
            if rows.ids:
                import bm25s

                retriever = bm25s.BM25.load(str(self.path / "bm25"))
            tokens = np.load(self.path / TOKENS_FILE)
            offsets = np.load(self.path / OFFSETS_FILE)
            vocab = main_state["vocab"]
            df = np.load(self.path / DF_FILE)
            if len(df) != len(vocab):
                raise ValueError("document frequencies do not match the vocabulary")
            main = _Main(rows, vocab, tokens, offsets, retriever, df, int(len(tokens)))
            delta_rows = _Rows(**state["delta"]["rows"])
            delta_tokens = state["delta"]["tokens"]
            stamp = Stamp(**state["stamp"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # missing or damaged: rebuilt from the store
        self._set(main, delta_rows, delta_tokens, set(state.get("deleted", [])), stamp)

    def _set(self, main: _Main, delta_rows: _Rows, delta_tokens: list[list[str]],
             deleted: set[str], stamp: Stamp) -> None:
        alive = None
        if deleted:
            alive = np.array([d not in deleted for d in main.rows.doc_ids], dtype=np.float32)
        with self._lock:
            self._main, self._delta_rows, self._delta_tokens = main, delta_rows, delta_tokens
            self._deleted, self._alive, self.stamp = deleted, alive, stamp

    def _state(self, delta_rows: _Rows, delta_tokens: list[list[str]], deleted: set[str],
               stamp: Stamp) -> str:
        return json.dumps({
            "stamp": {"chunks": stamp.chunks, "documents_digest": stamp.documents_digest},
            "delta": {"rows": delta_rows.to_dict(), "tokens": delta_tokens},
            "deleted": sorted(deleted),
        })

    def _save_all(self, main: _Main, delta_rows: _Rows, delta_tokens: list[list[str]],
                  deleted: set[str], stamp: Stamp) -> None:
        """Write a new folder and swap it in (readers see the old or the new, never a mix)."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if main.retriever is not None:
            main.retriever.save(str(tmp / "bm25"))
        np.save(tmp / TOKENS_FILE, main.tokens)
        np.save(tmp / OFFSETS_FILE, main.offsets)
        np.save(tmp / DF_FILE, main.df)
        (tmp / MAIN_FILE).write_text(json.dumps({"rows": main.rows.to_dict(), "vocab": main.vocab}))
        (tmp / STATE_FILE).write_text(self._state(delta_rows, delta_tokens, deleted, stamp))
        with self._lock:
            old = self.path.with_name(self.path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.path.exists():
                self.path.rename(old)
            tmp.rename(self.path)
            shutil.rmtree(old, ignore_errors=True)
        self._set(main, delta_rows, delta_tokens, deleted, stamp)

    def _save_state(self, delta_rows: _Rows, delta_tokens: list[list[str]], deleted: set[str],
                    stamp: Stamp) -> None:
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(self._state(delta_rows, delta_tokens, deleted, stamp))
        os.replace(tmp, self.path / STATE_FILE)
        self._set(self._main, delta_rows, delta_tokens, deleted, stamp)

    # --- building ------------------------------------------------------------------------

    def rebuild(self, chunks: Iterable[StoredChunk], stamp: Stamp) -> None:
        """Index `chunks` from scratch and save, replacing the old files atomically."""
        chunks = list(chunks)
        vocab: dict[str, int] = {}
        lists = [_ids(words, vocab) for words in tokenize([_index_text(c) for c in chunks])]
        self._save_all(_Main.build(_Rows.of(chunks), vocab, lists), _Rows(), [], set(), stamp)

    def update(self, added: Sequence[StoredChunk], removed_doc_ids: Iterable[str], stamp: Stamp) -> None:
        """Apply an ingest or deletion: `added` chunks in, every chunk of `removed_doc_ids` out.

        Call only when this index matched the store before the change (its stamp did);
        `stamp` is the store's stamp after it.
        """
        removed = set(removed_doc_ids)
        main = self._main
        words = tokenize([_index_text(c) for c in added]) if added else []
        delta_keep = [i for i, d in enumerate(self._delta_rows.doc_ids) if d not in removed]
        delta_rows = self._delta_rows.keep(delta_keep).extend(_Rows.of(added))
        delta_tokens = [self._delta_tokens[i] for i in delta_keep] + words
        deleted = self._deleted | (removed & set(main.rows.doc_ids))
        main_tokens = len(main.tokens)
        delta_size = sum(len(words) for words in delta_tokens)
        if main_tokens < DELTA_MIN_TOKENS or delta_size > DELTA_SHARE * main_tokens:
            self._fold(delta_rows, delta_tokens, deleted, stamp)
        else:
            self._save_state(delta_rows, delta_tokens, deleted, stamp)

    def _fold(self, delta_rows: _Rows, delta_tokens: list[list[str]], deleted: set[str],
              stamp: Stamp) -> None:
        """Rebuild the main index from cached tokens: live main rows plus the delta."""
        main = self._main
        keep = [i for i, d in enumerate(main.rows.doc_ids) if d not in deleted]
        vocab = dict(main.vocab)
        lists = [main.tokens[main.offsets[i] : main.offsets[i + 1]] for i in keep]
        lists += [_ids(words, vocab) for words in delta_tokens]
        rows = main.rows.keep(keep).extend(delta_rows)
        self._save_all(_Main.build(rows, vocab, lists), _Rows(), [], set(), stamp)

    # --- searching -----------------------------------------------------------------------

    def __len__(self) -> int:
        with self._lock:
            alive = len(self._main.rows.ids) if self._alive is None else int(self._alive.sum())
            return alive + len(self._delta_rows.ids)

    def search(
        self, query: str, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[str, float]]:
        """`(chunk_id, bm25 score)` of the best `k` chunks with a positive score."""
        with self._lock:
            main, alive = self._main, self._alive
            delta_rows, delta_tokens = self._delta_rows, self._delta_tokens
        words = tokenize([query])[0]
        hits = self._search_main(main, alive, words, k, chunk_filter)
        if delta_rows.ids:
            hits += _score_delta(main, delta_rows, delta_tokens, words, chunk_filter)
        hits.sort(key=lambda h: -h[1])
        return hits[:k]

    def best_chunks(self, query: str, doc_ids: Iterable[str]) -> dict[str, tuple[str, float]]:
        """`{doc_id: (chunk_id, bm25 score)}`: the chunk of each report in `doc_ids` that best
        matches `query`, scored with the whole index's statistics; reports none of whose chunks
        holds a query word are left out. Scores only those reports' chunks, from cached tokens."""
        with self._lock:
            main, alive = self._main, self._alive
            delta_rows, delta_tokens = self._delta_rows, self._delta_tokens
        words = tokenize([query])[0]
        wanted = set(doc_ids)
        if not words or not wanted:
            return {}
        scorer = _Scorer(main, delta_tokens, words)
        best: dict[str, tuple[str, float]] = {}

        def consider(doc_id: str, chunk_id: str, score: float) -> None:
            if score > 0 and (doc_id not in best or score > best[doc_id][1]):
                best[doc_id] = (chunk_id, score)

        for doc_id in wanted:
            for i in main.rows_by_doc.get(doc_id, ()):
                if alive is None or alive[i]:
                    consider(doc_id, main.rows.ids[i], scorer.score_ids(main.tokens[main.offsets[i] : main.offsets[i + 1]]))
        for i, doc_id in enumerate(delta_rows.doc_ids):
            if doc_id in wanted:
                consider(doc_id, delta_rows.ids[i], scorer.score_words(delta_tokens[i]))
        return best

    @staticmethod
    def _search_main(main: _Main, alive: np.ndarray | None, words: list[str], k: int,
                     chunk_filter: ChunkFilter | None) -> list[tuple[str, float]]:
        retriever, rows = main.retriever, main.rows
        if retriever is None or not rows.ids:
            return []
        tokens = [t for t in words if t in retriever.vocab_dict]
        if not tokens:
            return []
        mask = alive
        if chunk_filter and not chunk_filter.is_empty():
            accepts = chunk_filter.accepts_rows(*main.row_facts).astype(np.float32)
            mask = accepts if mask is None else mask * accepts
        if mask is not None and not mask.any():
            return []
        k = min(k, len(rows.ids))
        results, scores = retriever.retrieve(
            [tokens], k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (rows.ids[int(i)], float(s)) for i, s in zip(results[0], scores[0]) if float(s) > 0.0
        ]


def _ids(words: Sequence[str], vocab: dict[str, int]) -> np.ndarray:
    """Token ids of `words`, growing `vocab` with new words."""
    return np.array([vocab.setdefault(w, len(vocab)) for w in words], dtype=np.int32)


class _Scorer:
    """BM25 (bm25s' Lucene variant) of single rows for one query, with the statistics of the
    main index and the delta together: for rows outside bm25s' own index (the delta), and for
    scoring a few chosen rows without scoring them all."""

    def __init__(self, main: _Main, delta_tokens: list[list[str]], words: list[str]) -> None:
        self.words = words  # a repeated query word counts again, as in bm25s
        n = len(main.rows.ids) + len(delta_tokens)
        self.avgdl = (main.total_length + sum(len(t) for t in delta_tokens)) / max(n, 1)
        self.idf: dict[str, float] = {}
        for term in set(words):
            in_main = int(main.df[main.vocab[term]]) if term in main.vocab else 0
            df = in_main + sum(term in set(t) for t in delta_tokens)
            self.idf[term] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        self.ids = [main.vocab.get(term, -1) for term in words]

    def _score(self, tfs: Iterable[int], length: int) -> float:
        norm = K1 * (1 - B + B * length / self.avgdl)
        return sum(self.idf[w] * tf / (tf + norm) for w, tf in zip(self.words, tfs) if tf)

    def score_words(self, tokens: list[str]) -> float:
        """The score of a row given as words (a delta row)."""
        return self._score((tokens.count(w) for w in self.words), len(tokens))

    def score_ids(self, tokens: np.ndarray) -> float:
        """The score of a row given as vocabulary ids (a main row)."""
        return self._score((int(np.count_nonzero(tokens == i)) if i >= 0 else 0 for i in self.ids), len(tokens))


def _score_delta(main: _Main, rows: _Rows, tokens: list[list[str]], words: list[str],
                 chunk_filter: ChunkFilter | None) -> list[tuple[str, float]]:
    """BM25 of the delta's chunks, with main + delta statistics."""
    if not words:
        return []
    scorer = _Scorer(main, tokens, words)
    passes = (chunk_filter.accepts_rows(*rows.facts()) if chunk_filter and not chunk_filter.is_empty()
              else np.ones(len(tokens), dtype=bool))
    hits = []
    for i, doc in enumerate(tokens):
        if not passes[i]:
            continue
        score = scorer.score_words(doc)
        if score > 0:
            hits.append((rows.ids[i], score))
    return hits
