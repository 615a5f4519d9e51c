"""The base index: a bm25s score matrix built with numpy from cached token ids, with the facts
of each row it holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator, Sequence

import numpy as np

from index.records import StoredChunk, date_ordinal

BUILD_BLOCK_TOKENS = 1_000_000  # tokens counted and scored at a time when building BM25 (`_bm25`)
K1, B = 1.5, 0.75  # bm25s defaults (method "lucene")


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
        each row's entry number: how the base index saves them. Loaded back (`from_table`),
        every chunk of a report shares its id and source strings instead of holding copies of
        its own."""
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
class _Base:
    """The bm25s index and the cached tokens it was built from."""

    rows: _Rows
    vocab: dict[str, int]
    tokens: np.ndarray  # int32, all rows' token ids, concatenated
    offsets: np.ndarray  # int64, len(rows) + 1
    retriever: object | None
    df: np.ndarray  # documents containing each vocabulary token
    total_length: int

    @classmethod
    def build(cls, rows: _Rows, vocab: dict[str, int], token_lists: list[np.ndarray]) -> "_Base":
        lengths = np.array([len(t) for t in token_lists], dtype=np.int64)
        tokens = np.concatenate(token_lists).astype(np.int32) if token_lists else np.zeros(0, np.int32)
        return cls.from_flat(rows, vocab, tokens, lengths)

    @classmethod
    def from_flat(cls, rows: _Rows, vocab: dict[str, int], tokens: np.ndarray, lengths: np.ndarray) -> "_Base":
        """The index of rows whose token ids are `tokens`, `lengths[i]` of them for row i."""
        offsets = _offsets(lengths)
        retriever, df = _bm25(vocab, tokens, offsets)
        return cls(rows, vocab, tokens, offsets, retriever, df, int(lengths.sum()))

    @cached_property
    def row_facts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The rows' facts as arrays, for filtering them at once (`_Rows.facts`)."""
        return self.rows.facts()

    def rows_of(self, doc_ids: set[str]) -> list[int]:
        """Row numbers of the chunks of `doc_ids`: from `rows_by_doc` once built (retrieval
        builds it), else by one pass over the rows, cheaper than building the map, which a
        delete alone does not need."""
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
        """Row numbers of each report's chunks, built on first use: a pass over every row that
        only retrieval needs."""
        by_doc: dict[str, list[int]] = {}
        for i, doc_id in enumerate(self.rows.doc_ids):
            by_doc.setdefault(doc_id, []).append(i)
        return by_doc


def _offsets(lengths: np.ndarray) -> np.ndarray:
    """Where each row's tokens start in the flat token ids, rows `lengths` long, and where the
    last one ends."""
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)


def _term_counts(tokens: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(row, term, tf)` of every distinct term of every row, from the flat token ids and row
    offsets. Sorting `row << 32 | term` keys beats `np.unique`'s hashing."""
    # Built in place: each int64 temporary would add 8 bytes a token to an ingest's peak memory.
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

    bm25s' own `index` scores row by row in Python from lists of ids, and holds twice the
    memory of the tokens; this computes the same matrix with numpy from the cached flat arrays
    and hands it to bm25s for retrieval and saving. Rows are counted block by block
    (`_block_term_counts`), straight into the matrix's row-major arrays, so the counting
    temporaries are a block's, not the whole corpus's. One pass: each entry's term-frequency
    part is kept, and multiplied by its term's idf once the document frequencies are whole.
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
