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
  immediately; the delta is folded into the main index once it exceeds `DELTA_SHARE` of it or
  `DELTA_MAX_TOKENS`.
- the delta is kept as token ids in flat arrays (like the main index's cache) and scored with
  numpy: as Python lists of words it cost 286 ms a query with 20,000 chunks in it, and its
  JSON was rewritten whole on every update.
- a loaded index memory-maps its bm25s matrices and cached tokens.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from index.common.text import tokenize
from index.records import ChunkFilter, StoredChunk, date_ordinal

STATE_FILE = "state.json"  # stamp, delta and deleted reports: small, rewritten on every update
MAIN_FILE = "main.json"  # the main index's chunk ids, report facts and vocabulary
ROWS_FILE = "rows.npy"  # each main row's entry in main.json's table of report facts
TOKENS_FILE = "tokens.npy"  # the main index's token ids, flat, with offsets
OFFSETS_FILE = "offsets.npy"
DELTA_PREFIX = "delta-"  # the delta's token ids: DELTA_PREFIX + a unique name + ".npz"
DF_FILE = "df.npy"  # each vocabulary token's document frequency, so loading need not count it
# Counted in tokens, not rows: a whole-report row holds about 11 chunks' tokens, and the report
# index, counted in rows, rebuilt 100,000 chunks' worth of tokens on every ingest (14 s at 100k).
DELTA_MIN_TOKENS = 2_000_000  # below this many cached tokens, every update rebuilds BM25 from them
DELTA_SHARE = 0.1  # fold the delta into the main index when its tokens exceed this share of it
# ... or this many tokens, whichever is less: a query reads every delta token once per new query
# word (about 1 ms a million), and a fold at 1,000,000 chunks takes seconds, so once in ~1,000 reports.
DELTA_MAX_TOKENS = 2_000_000
TF_CACHE = 256  # query words whose delta term frequencies are kept
TOKENIZE_CHARS = 1_000_000  # text tokenized per bm25s call (`_token_ids`)
BUILD_BLOCK_TOKENS = 1_000_000  # tokens counted and scored at a time when building BM25 (`_bm25`)
K1, B = 1.5, 0.75  # bm25s defaults (method "lucene")


@dataclass(frozen=True)
class Stamp:
    """What a keyword index was built from: the store's row count at the index's level (chunks,
    or reports) and its change count (`Store.changes`), which every write by any process raises.

    It replaced a digest of every report id: listing 250,000 ids cost 1.2 s, twice per report
    added or deleted at 1,000,000 chunks."""

    rows: int
    changes: int


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

    def table(self) -> tuple[dict, np.ndarray]:
        """The rows as a table of distinct (report, source, date) entries, the chunk ids, and
        each row's entry number: how the main index saves them. Loaded back (`from_table`),
        every chunk of a report shares its id and source strings; as one JSON list per field,
        each occurrence was a string of its own (about 200 MB at 1,000,000 chunks)."""
        entries: dict[tuple[str, str, int], int] = {}
        row_entry = np.fromiter(
            (entries.setdefault(key, len(entries)) for key in zip(self.doc_ids, self.sources, self.date_ords)),
            dtype=np.int32, count=len(self.ids))
        keys = list(entries)
        return ({"ids": self.ids, "doc_ids": [k[0] for k in keys], "sources": [k[1] for k in keys],
                 "date_ords": [k[2] for k in keys]}, row_entry)

    @classmethod
    def from_table(cls, table: dict, row_entry: np.ndarray) -> "_Rows":
        """The rows that `table` saved."""
        which = row_entry.tolist()
        doc_ids, sources, date_ords = table["doc_ids"], table["sources"], table["date_ords"]
        return cls(table["ids"], [doc_ids[i] for i in which], [sources[i] for i in which],
                   [date_ords[i] for i in which])

    def append(self, chunk: StoredChunk) -> None:
        self.ids.append(chunk.chunk_id)
        self.doc_ids.append(chunk.doc_id)
        self.sources.append(chunk.source)
        self.date_ords.append(date_ordinal(chunk.date))

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
        lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
        tokens = np.concatenate(token_lists).astype(np.int32) if token_lists else np.zeros(0, np.int32)
        return cls.from_flat(rows, vocab, tokens, lengths)

    @classmethod
    def from_flat(cls, rows: _Rows, vocab: dict[str, int], tokens: np.ndarray, lengths: np.ndarray) -> "_Main":
        """The index of rows whose token ids are `tokens`, `lengths[i]` of them for row i."""
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        retriever, df = _bm25(vocab, tokens, offsets)
        return cls(rows, vocab, tokens, offsets, retriever, df, int(lengths.sum()))

    @cached_property
    def row_facts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows' facts as arrays, for filtering them at once (`_Rows.facts`)."""
        return self.rows.facts()

    def rows_of(self, doc_ids: set[str]) -> list[int]:
        """Row numbers of the chunks of `doc_ids`: from `rows_by_doc` once built (retrieval
        builds it), else by one pass over the rows (60 ms at 1,000,000, against 0.4-0.9 s to
        build the map, which a delete alone does not need)."""
        if "rows_by_doc" in self.__dict__:
            return [i for d in doc_ids for i in self.rows_by_doc.get(d, ())]
        return [i for i, d in enumerate(self.rows.doc_ids) if d in doc_ids]

    def live(self, deleted: set[str]) -> np.ndarray:
        """Which rows do not belong to `deleted` reports."""
        live = np.ones(len(self.rows.ids), dtype=bool)
        live[self.rows_of(deleted)] = False
        return live

    @cached_property
    def rows_by_doc(self) -> dict[str, list[int]]:
        """Row numbers of each report's chunks (built on first use: 0.4-0.9 s at 1M rows)."""
        by_doc: dict[str, list[int]] = {}
        for i, doc_id in enumerate(self.rows.doc_ids):
            by_doc.setdefault(doc_id, []).append(i)
        return by_doc


@dataclass
class _Delta:
    """Chunks added since the main index was built, as token ids in the main index's id space;
    words the main vocabulary lacks get the ids after it, in `extra`, so a fold keeps every id."""

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
        """How often `term` occurs in each row: one pass over the delta's tokens (about 1 ms a
        million), kept for the next queries (retrieval asks twice per question, chunks and best
        chunks); the cache goes with this delta, which every change replaces."""
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
                      np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64), extra)


def _term_counts(tokens: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(row, term, tf)` of every distinct term of every row, from the flat token ids and row
    offsets. Sorting `row << 32 | term` keys beats `np.unique`'s hashing by about 6x."""
    # Built in place: at 12,000,000 tokens each int64 temporary is 96 MB of an ingest's peak.
    keys = np.repeat(np.arange(len(offsets) - 1, dtype=np.int64) << 32, np.diff(offsets))
    keys |= tokens
    keys.sort()
    if len(keys) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    new = np.empty(len(keys), dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    tf = np.diff(starts, append=len(keys))
    distinct = keys[starts]
    return distinct >> 32, distinct & 0xFFFFFFFF, tf


def _block_term_counts(tokens: np.ndarray, offsets: np.ndarray) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """`(first row, row, term, tf)` (`_term_counts`, rows counted from the block's first) of
    consecutive blocks of rows holding about `BUILD_BLOCK_TOKENS` tokens each, in row order."""
    n = len(offsets) - 1
    first = 0
    while first < n:
        end = int(np.searchsorted(offsets, offsets[first] + BUILD_BLOCK_TOKENS, side="right")) - 1
        end = min(max(end, first + 1), n)
        base = offsets[first]
        row, term, tf = _term_counts(np.asarray(tokens[base : offsets[end]]), offsets[first : end + 1] - base)
        yield first, row, term, tf
        first = end


def _bm25(vocab: dict[str, int], tokens: np.ndarray, offsets: np.ndarray) -> tuple[object | None, np.ndarray]:
    """A bm25s index (Lucene variant, its defaults) of the rows whose token ids are `tokens`
    (row i's from `offsets[i]`; None when there are no rows), and the document frequency of
    each vocabulary token.

    bm25s' own `index` scores row by row in Python from lists of ids (a minute at 1,000,000
    chunks, and twice the memory of the tokens); this computes the same matrix with numpy from
    the cached flat arrays, in seconds, and hands it to bm25s for retrieval and saving. Rows are
    counted block by block (`_block_term_counts`), straight into the matrix's row-major arrays:
    counted at once, the temporaries of 9 million tokens took 300 MB more of an ingest's peak.
    One pass: each entry's term-frequency part is kept, and multiplied by its term's idf once
    the document frequencies are whole.
    """
    import bm25s
    import scipy.sparse as sp

    lengths = np.diff(offsets)
    n = len(lengths)
    df = np.zeros(len(vocab), dtype=np.int64)
    if n == 0:
        return None, df
    mean_length = float(lengths.mean()) or 1.0
    data: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    per_row = np.zeros(n, dtype=np.int64)
    for first, row, term, tf in _block_term_counts(tokens, offsets):
        df += np.bincount(term, minlength=len(vocab))
        tf32 = tf.astype(np.float32)
        norm = (K1 * ((1 - B) + B * lengths[first + row] / mean_length)).astype(np.float32)
        data.append(tf32 / (norm + tf32))
        indices.append(term.astype(np.int32))
        counts = np.bincount(row)
        per_row[first : first + len(counts)] = counts
    idf = np.zeros(len(vocab), dtype=np.float32)
    seen = df > 0
    idf[seen] = np.log(1 + (n - df[seen] + 0.5) / (df[seen] + 0.5))
    scores, columns = np.concatenate(data), np.concatenate(indices)
    del data, indices
    scores *= idf[columns]
    indptr = np.concatenate([[0], np.cumsum(per_row)])
    # `_term_counts` orders each row's terms, so these are the row-major arrays as they are.
    matrix = sp.csr_matrix((scores, columns, indptr), shape=(n, len(vocab))).tocsc()
    del scores, columns
    retriever = bm25s.BM25(k1=K1, b=B)
    retriever.scores = {"data": matrix.data, "indices": matrix.indices, "indptr": matrix.indptr,
                        "num_docs": n}
    retriever.vocab_dict = dict(vocab) | {"": len(vocab)}  # bm25s' empty token, as its index() adds
    retriever.unique_token_ids_set = set(retriever.vocab_dict.values())
    retriever.nonoccurrence_array = None
    return retriever, df


def _mapped(folder: Path, has_rows: bool) -> tuple[object | None, np.ndarray]:
    """The bm25s index (None without rows) and the cached token ids saved in `folder`,
    memory-mapped: read only by searches, updates and `best_chunks`, at 1,000,000 chunks they
    are ~1 GB that a process need not hold. The mappings outlive the folder's renaming."""
    retriever = None
    if has_rows:
        import bm25s

        retriever = bm25s.BM25.load(str(folder / "bm25"), mmap=True, show_progress=False)
    return retriever, np.load(folder / TOKENS_FILE, mmap_mode="r")


class KeywordIndex:
    """BM25 over chunk texts (title included), with the facts needed to filter results."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._main = _Main.build(_Rows(), {}, [])
        self._delta = _Delta.empty()
        self._deleted: set[str] = set()  # reports removed from the main index since it was built
        self._alive: np.ndarray | None = None  # main rows not deleted (None: all)
        self.stamp: Stamp | None = None
        self._load()

    # --- persistence ---------------------------------------------------------------------

    def _load(self) -> None:
        try:
            state = json.loads((self.path / STATE_FILE).read_text())
            main_state = json.loads((self.path / MAIN_FILE).read_text())
            rows = _Rows.from_table(main_state["rows"], np.load(self.path / ROWS_FILE))
            retriever, tokens = _mapped(self.path, bool(rows.ids))
            offsets = np.load(self.path / OFFSETS_FILE)
            vocab = main_state["vocab"]
            df = np.load(self.path / DF_FILE)
            if len(df) != len(vocab):
                raise ValueError("document frequencies do not match the vocabulary")
            main = _Main(rows, vocab, tokens, offsets, retriever, df, int(len(tokens)))
            delta = _Delta.empty()
            if state["delta"]["file"]:
                arrays = np.load(self.path / state["delta"]["file"])
                delta = _Delta(_Rows(**state["delta"]["rows"]), arrays["tokens"], arrays["offsets"],
                               state["delta"]["extra"])
            stamp = Stamp(**state["stamp"])
        except (OSError, ValueError, KeyError, TypeError):
            return  # missing, damaged or of an older layout: rebuilt from the store
        self._set(main, delta, set(state.get("deleted", [])), stamp)

    def _set(self, main: _Main, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
        alive = main.live(deleted).astype(np.float32) if deleted else None
        with self._lock:
            self._main, self._delta = main, delta
            self._deleted, self._alive, self.stamp = deleted, alive, stamp

    def _state(self, delta: _Delta, delta_file: str | None, deleted: set[str], stamp: Stamp) -> str:
        return json.dumps({
            "stamp": {"rows": stamp.rows, "changes": stamp.changes},
            "delta": {"rows": delta.rows.to_dict(), "extra": delta.extra, "file": delta_file},
            "deleted": sorted(deleted),
        })

    def _save_all(self, main: _Main, stamp: Stamp) -> None:
        """Write a new folder (with an empty delta) and swap it in: readers see the old or the
        new, never a mix."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if main.retriever is not None:
            main.retriever.save(str(tmp / "bm25"))
        np.save(tmp / TOKENS_FILE, main.tokens)
        np.save(tmp / OFFSETS_FILE, main.offsets)
        np.save(tmp / DF_FILE, main.df)
        table, row_entry = main.rows.table()
        np.save(tmp / ROWS_FILE, row_entry)
        (tmp / MAIN_FILE).write_text(json.dumps({"rows": table, "vocab": main.vocab}))
        (tmp / STATE_FILE).write_text(self._state(_Delta.empty(), None, set(), stamp))
        # The built arrays give way to the saved ones, mapped as a loading process maps them:
        # held through an ingest, each fold's copies grew its peak by ~3 KB a chunk.
        retriever, tokens = _mapped(tmp, main.retriever is not None)
        main = replace(main, retriever=retriever, tokens=tokens)
        with self._lock:
            old = self.path.with_name(self.path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            if self.path.exists():
                self.path.rename(old)
            tmp.rename(self.path)
            shutil.rmtree(old, ignore_errors=True)
        self._set(main, _Delta.empty(), set(), stamp)

    def _save_state(self, delta: _Delta, deleted: set[str], stamp: Stamp) -> None:
        """Write the delta's arrays to a file of their own, then the state naming it (atomically),
        then drop older delta files: an interrupted update leaves the previous state whole."""
        delta_file = None
        if delta.rows.ids:
            delta_file = f"{DELTA_PREFIX}{uuid.uuid4().hex}.npz"
            with (self.path / delta_file).open("wb") as out:
                np.savez(out, tokens=delta.tokens, offsets=delta.offsets)
        tmp = self.path / (STATE_FILE + ".tmp")
        tmp.write_text(self._state(delta, delta_file, deleted, stamp))
        os.replace(tmp, self.path / STATE_FILE)
        for old in self.path.glob(f"{DELTA_PREFIX}*.npz"):
            if old.name != delta_file:
                old.unlink(missing_ok=True)
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
        self._save_all(_Main.build(rows, vocab, lists), stamp)

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
        """Rebuild the main index from cached tokens: live main rows plus the delta."""
        main = self._main
        keep = main.live(deleted)
        lengths = np.diff(main.offsets)
        live = main.tokens if keep.all() else main.tokens[np.repeat(keep, lengths)]  # no copy to drop nothing
        tokens = np.concatenate([live, delta.tokens])
        vocab = main.vocab | delta.extra  # the delta's new words already hold the ids after main's
        rows = main.rows.keep(np.flatnonzero(keep).tolist()).extend(delta.rows)
        self._save_all(_Main.from_flat(rows, vocab, tokens, np.concatenate([lengths[keep], delta.lengths])), stamp)

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
    def _search_main(main: _Main, alive: np.ndarray | None, words: list[str], k: int,
                     chunk_filter: ChunkFilter | None) -> list[tuple[str, float]]:
        """The best `k` live main rows passing the filter. Scores are summed from the query words'
        columns of bm25s' matrix here: bm25s' own `retrieve` took 31 ms a query at 1,000,000
        chunks (a thread pool, whole-corpus passes), this 2-9 ms for the same ranking."""
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


def _token_ids(texts: Iterable[str], lookup: Callable[[str], int]) -> Iterator[np.ndarray]:
    """The token ids (`lookup` of each word) of each of `texts`, in order.

    Texts are tokenized together up to `TOKENIZE_CHARS` at a time, and a longer text in pieces
    of that size cut at a space: bm25s holds every word of a call as a string of its own, which
    for a 40 MB report (or 65,000 chunks at once) was 700 MB.
    """
    batch: list[str] = []
    size = 0
    for text in texts:
        if size + len(text) > TOKENIZE_CHARS and batch:
            yield from _ids_of(tokenize(batch), lookup)
            batch, size = [], 0
        if len(text) <= TOKENIZE_CHARS:
            batch.append(text)
            size += len(text)
            continue
        pieces = [next(_ids_of(tokenize([piece]), lookup)) for piece in _pieces(text)]
        yield np.concatenate(pieces).astype(np.int32)
    if batch:
        yield from _ids_of(tokenize(batch), lookup)


def _ids_of(word_lists: Iterable[Sequence[str]], lookup: Callable[[str], int]) -> Iterator[np.ndarray]:
    for words in word_lists:
        yield np.fromiter(map(lookup, words), dtype=np.int32, count=len(words))


def _pieces(text: str) -> Iterator[str]:
    """`text` in pieces of at most `TOKENIZE_CHARS`, each cut after its last space or line break
    (so no word is cut), or at the limit when it has none."""
    start = 0
    while len(text) - start > TOKENIZE_CHARS:
        limit = start + TOKENIZE_CHARS
        cut = max(text.rfind(" ", start, limit), text.rfind("\n", start, limit)) + 1 or limit
        yield text[start:cut]
        start = cut
    yield text[start:]


class _Scorer:
    """BM25 (bm25s' Lucene variant) for one query, with the statistics of the main index and the
    delta together: for the delta's rows (outside bm25s' own index), and for scoring a few chosen
    rows without scoring them all."""

    def __init__(self, main: _Main, delta: _Delta, words: list[str]) -> None:
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
        at once: row by row, a question whose candidates held one 30,000-chunk report spent
        0.16 s here (0.4 s with the tokens memory-mapped), and over a second during an ingest."""
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
