"""The Chroma store: chunks (through llama-index's ChromaVectorStore) and one record per report.

Chroma is the single source of truth. A report's record (its full text and facts) is written
after its chunks, so a record means "completely indexed"; chunks without a record are
leftovers of an interrupted ingest and are removed by `remove_orphans`.

A long report's record keeps the first `TEXT_PIECE_CHARS` of its text, and the rest is kept in
pieces of that size beside it (written before the record, removed with it).

A report whose chunks are written in several batches (a long one) has a marker meanwhile: who
writes it and how far it got. `indexing` lists the live ones; a marker whose process is gone is
an interrupted ingest's, and `remove_orphans` removes it with its chunks.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Collection, Iterable, Iterator, Protocol, Sequence
from urllib.parse import urlparse

import numpy as np

from index.common.errors import NotFoundError, StoreError
from index.common.types import DocumentInfo, IndexingInfo
from index.records import ChunkFilter, StoredChunk, date_ordinal

PAGE = 2000  # records per Chroma get() call when scanning a collection
FILTER_OVERFETCH = 4  # a filtered search looks at this many times k nearest chunks first
# A record holds this much of its report's text, the rest is stored in pieces of this size:
# Chroma's memory for one write grows with its text (hundreds of megabytes for tens of megabytes
# of text), and a piece of this size costs next to nothing (docs/benchmarks.md).
TEXT_PIECE_CHARS = 1_000_000
# A marker not renewed for this long is a dead run's, wherever it ran. An ingest renews its
# marker with every batch it writes: seconds apart, a minute on a busy machine.
MARKER_STALE_S = 600.0

# `(chunk_id, start, end, text)` of each chunk of a report.
ChunkRows = Sequence[tuple[str, int, int, str]]
# A report's chunks to store: its facts, chunk rows and their vectors.
ChunkPart = tuple[DocumentInfo, ChunkRows, np.ndarray]
# A completely indexed report's record: facts, text, content hash, the mean of its chunk vectors.
Record = tuple[DocumentInfo, str, str, np.ndarray]


def chroma_where(chunk_filter: ChunkFilter) -> dict[str, Any] | None:
    """`chunk_filter` as a Chroma `where` clause (`ChunkFilter.accepts_rows` is the same test on arrays)."""
    clauses: list[dict[str, Any]] = []
    if chunk_filter.doc_ids:
        clauses.append({"doc_id": {"$in": list(chunk_filter.doc_ids)}})
    if chunk_filter.sources:
        clauses.append({"source": {"$in": list(chunk_filter.sources)}})
    if chunk_filter.date_to:
        clauses.append({"date_ord": {"$lte": date_ordinal(chunk_filter.date_to)}})
    if chunk_filter.date_from:
        clauses.append({"date_ord": {"$gte": date_ordinal(chunk_filter.date_from)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def make_client(path: Path, url: str | None = None) -> Any:
    """An HttpClient for the Chroma server at `url`, or else an embedded PersistentClient in `path`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if url:
            parsed = urlparse(url)
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
            return client
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:  # chromadb raises several unrelated types for an unreachable server
        where = url or str(path)
        raise StoreError(f"cannot open the Chroma store at {where}: {exc}") from None


class Store(Protocol):
    """What ingestion, the keyword indexes, retrieval and the assistant need of a store: chunks
    with vectors, one record per completely indexed report, and a count of the writes ever made
    (`changes`: every write method raises it before it changes anything, in whichever process,
    so a keyword index can tell whether the store is still what it was built from).
    `ChromaStore` is the real one; the fast tests use a small in-memory fake."""

    def add_documents(
        self, batch: Sequence[tuple[DocumentInfo, ChunkRows, np.ndarray, str, str]]
    ) -> None: ...
    def write_batch(
        self, parts: Sequence[ChunkPart], records: Sequence[Record] = (), fresh: Collection[str] = ()
    ) -> None: ...
    def mark_indexing(self, info: IndexingInfo, alive: bool = True) -> None: ...
    def indexing(self) -> list[IndexingInfo]: ...
    def interrupted(self) -> bool: ...
    def restamp_document(self, info: DocumentInfo, text: str, content_hash: str) -> list[StoredChunk]: ...
    def delete_document(self, doc_id: str) -> None: ...
    def add_alias(self, source: str, doc_id: str) -> None: ...
    def drop_aliases(self, sources: Sequence[str]) -> None: ...
    def remove_orphans(self, grace_s: float = 2.0) -> int: ...
    def changes(self) -> int: ...
    def own_changes(self) -> int: ...
    def existing(self, doc_ids: Iterable[str]) -> set[str]: ...
    def document_ids(self) -> list[str]: ...
    def documents(self) -> list[DocumentInfo]: ...
    def documents_by_sources(self, sources: Sequence[str]) -> dict[str, list[tuple[DocumentInfo, str]]]: ...
    def document(self, doc_id: str) -> DocumentInfo: ...
    def document_text(self, doc_id: str) -> str: ...
    def document_texts(self, doc_ids: Iterable[str]) -> dict[str, str]: ...
    def count_chunks(self) -> int: ...
    def count_documents(self) -> int: ...
    def search(
        self, vector: np.ndarray, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]: ...
    def chunks_by_id(self, ids: Sequence[str]) -> list[StoredChunk]: ...
    def chunk_embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def document_embeddings(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]: ...
    def iter_chunks(self) -> Iterator[StoredChunk]: ...
    def iter_documents(self) -> Iterator[StoredChunk]: ...


class ChromaStore:
    """Chunks and report records of one collection."""

    def __init__(self, client: Any, collection: str) -> None:
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.name = collection
        cosine = {"hnsw:space": "cosine"}
        self._chunks = client.get_or_create_collection(collection, metadata=cosine)
        self._docs = client.get_or_create_collection(f"{collection}__documents", metadata=cosine)
        # One tiny record per write, never deleted: its count is the store's change count.
        self._changes = client.get_or_create_collection(f"{collection}__changes", metadata=cosine)
        # One marker per report being written in several batches (see the module's docstring).
        self._markers = client.get_or_create_collection(f"{collection}__indexing", metadata=cosine)
        # Long reports' texts after their first TEXT_PIECE_CHARS, piece by piece.
        self._texts = client.get_or_create_collection(f"{collection}__texts", metadata=cosine)
        # Files holding exactly a stored report's text under another name, one record each.
        self._aliases = client.get_or_create_collection(f"{collection}__aliases", metadata=cosine)
        self.vector_store = ChromaVectorStore(chroma_collection=self._chunks)
        self._write_lock = threading.Lock()
        self._own_changes = 0

    # --- the change count ------------------------------------------------------------------

    def changes(self) -> int:
        """How many writes the store has seen, from every process (see `Store`)."""
        return int(self._changes.count())

    def own_changes(self) -> int:
        """How many of `changes` this object made: the rest are other processes' writes."""
        return self._own_changes

    def _changing(self) -> None:
        """Count a write before making it: a write interrupted half-way still changes the count,
        so no keyword index takes the store for what it was."""
        self._own_changes += 1
        self._changes.add(ids=[uuid.uuid4().hex], embeddings=[[1.0]], metadatas=[{"at": time.time()}])

    # --- writing -------------------------------------------------------------------------

    def _add_nodes(self, nodes: list[Any]) -> None:
        with self._write_lock:
            for i in range(0, len(nodes), PAGE):
                self.vector_store.add(nodes[i : i + PAGE])

    def add_documents(self, batch: Sequence[tuple[DocumentInfo, ChunkRows, np.ndarray, str, str]]) -> None:
        """Store whole reports at once: `(info, chunks, chunk vectors, text, content_hash)` each."""
        self.write_batch(
            [(info, chunks, vectors) for info, chunks, vectors, _, _ in batch],
            [(info, text, digest, vectors.mean(axis=0)) for info, _, vectors, text, digest in batch],
            [info.doc_id for info, *_ in batch],
        )

    def write_batch(
        self, parts: Sequence[ChunkPart], records: Sequence[Record] = (), fresh: Collection[str] = ()
    ) -> None:
        """One write of an ingest's batch: the chunks of `parts`, then the `records` of the
        reports they complete (dropping their markers).

        Old chunks of the `fresh` reports (those whose first chunks these are: an earlier
        version's, or an interrupted run's) go first. Chunks go in pages, then all records: a
        record still means "completely indexed". A few large Chroma calls, not four per report.
        """
        if not parts and not records:
            return
        with self._write_lock:
            self._changing()
            if fresh:
                self._chunks.delete(where={"document_id": {"$in": list(fresh)}})
        self._add_nodes([n for info, chunks, vectors in parts for n in chunk_nodes(info, chunks, vectors)])
        if not records:
            return
        pieces = [self._write_pieces(info.doc_id, text) for info, text, _, _ in records]
        with self._write_lock:
            self._docs.upsert(
                ids=[info.doc_id for info, *_ in records],
                documents=[text[:TEXT_PIECE_CHARS] for _, text, _, _ in records],
                embeddings=[(mean / (np.linalg.norm(mean) or 1.0)).tolist() for *_, mean in records],
                metadatas=[_record_meta(info, digest) | ({"text_pieces": n} if n else {})
                           for (info, _, digest, _), n in zip(records, pieces)],
            )
        self._unmark([info.doc_id for info, *_ in records])

    def _write_pieces(self, doc_id: str, text: str) -> int:
        """Store a report's text after its first TEXT_PIECE_CHARS, one piece per call; how many."""
        starts = range(TEXT_PIECE_CHARS, len(text), TEXT_PIECE_CHARS)
        for i, start in enumerate(starts):
            with self._write_lock:
                self._texts.upsert(ids=[f"{doc_id}:{i}"], documents=[text[start : start + TEXT_PIECE_CHARS]],
                                   embeddings=[[1.0]], metadatas=[{"doc_id": doc_id}])
        return len(starts)

    def _whole_text(self, doc_id: str, head: str, meta: dict[str, Any] | None) -> str:
        """A record's text (`head`) with its pieces, if it has any, read one at a time."""
        pieces = int((meta or {}).get("text_pieces", 0))
        if not pieces:
            return head
        rest = [self._texts.get(ids=[f"{doc_id}:{i}"], include=["documents"])["documents"]
                for i in range(pieces)]
        if any(len(piece) != 1 for piece in rest):
            raise StoreError(f"the text of report {doc_id!r} is incomplete in the store")
        return head + "".join(piece[0] for piece in rest)

    # --- reports being indexed ---------------------------------------------------------------

    def mark_indexing(self, info: IndexingInfo, alive: bool = True) -> None:
        """Write or renew the marker of a report being written in several batches: before its
        first chunks, then after each batch (how far it got); `alive=False` when its run gives
        it up (an error), so that the next ingest removes its chunks. Not a change of the index:
        no keyword index is built from markers."""
        meta = _record_meta(info, "") | {"indexed_chars": info.indexed_chars, "owner": _owner(),
                                         "heartbeat": time.time() if alive else 0.0}
        with self._write_lock:
            self._markers.upsert(ids=[info.doc_id], embeddings=[[1.0]], metadatas=[meta])

    def _unmark(self, doc_ids: Collection[str]) -> None:
        """Drop the markers of these reports (indexed, or removed as a dead run's)."""
        if doc_ids:
            with self._write_lock:
                self._markers.delete(ids=list(doc_ids))

    def indexing(self) -> list[IndexingInfo]:
        """Reports being indexed now, by this process or another: their markers that are alive."""
        return [IndexingInfo.of(_info(doc_id, meta), int(meta.get("indexed_chars", 0)))
                for doc_id, meta, alive in self._scan_markers() if alive]

    def interrupted(self) -> bool:
        """Whether an ingest died while writing a report (its marker is left, not alive)."""
        return any(not alive for *_, alive in self._scan_markers())

    def _scan_markers(self) -> list[tuple[str, dict[str, Any], bool]]:
        got = self._markers.get(include=["metadatas"])
        return [(doc_id, meta, _alive(meta)) for doc_id, meta in zip(got["ids"], got["metadatas"])]

    def restamp_document(self, info: DocumentInfo, text: str, content_hash: str) -> list[StoredChunk]:
        """Rewrite a stored report's facts (title, date) on its record and chunks, keeping its
        chunk texts and vectors: nothing is embedded again. Returns the chunks as now stored.

        The record goes first, so an interruption leaves chunks without a record, which the next
        ingest removes and indexes again, never a record with missing chunks.
        """
        got = self._chunks.get(where={"doc_id": info.doc_id}, include=["documents", "metadatas", "embeddings"])
        rows = [(cid, int(meta.get("start", 0)), int(meta.get("end", 0)), chunk)
                for cid, chunk, meta in zip(got["ids"], got["documents"], got["metadatas"])]
        with self._write_lock:
            self._changing()
            self._docs.delete(ids=[info.doc_id])
        self.add_documents([(info, rows, np.asarray(got["embeddings"], dtype=np.float32), text, content_hash)])
        return stored_chunks(info, rows)

    def delete_document(self, doc_id: str) -> None:
        """Remove a report's record first, then its chunks and text pieces (one write, counted once)."""
        with self._write_lock:
            self._changing()
            self._docs.delete(ids=[doc_id])
            self.vector_store.delete(ref_doc_id=doc_id)
            self._texts.delete(where={"doc_id": doc_id})
            self._aliases.delete(where={"doc_id": doc_id})

    def add_alias(self, source: str, doc_id: str) -> None:
        """Record `source` as a file holding exactly report `doc_id`'s text."""
        with self._write_lock:
            self._aliases.upsert(ids=[_alias_id(source)], embeddings=[[1.0]],
                                 metadatas=[{"source": source, "doc_id": doc_id}])

    def drop_aliases(self, sources: Sequence[str]) -> None:
        """Forget these files as aliases (each is now a report of its own, or gone)."""
        ids = [_alias_id(source) for source in dict.fromkeys(sources)]
        if not ids or self._aliases.count() == 0:  # the usual case: no copies, nothing to look up
            return
        with self._write_lock:
            for i in range(0, len(ids), PAGE):
                self._aliases.delete(ids=ids[i : i + PAGE])

    def _aliases_by_doc(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for _, meta in _paged(self._aliases, ["metadatas"]):
            found.setdefault(str(meta["doc_id"]), []).append(str(meta["source"]))
        return {doc_id: tuple(sorted(sources)) for doc_id, sources in found.items()}

    def remove_orphans(self, grace_s: float = 2.0) -> int:
        """Delete chunks and text pieces whose report has no record (an interrupted ingest),
        then the markers of dead runs. Returns how many chunks.

        Another process sharing a Chroma server may be between writing a report's chunks and
        its record: the chunks of a report with a live marker are kept, and other orphans are
        looked at again after `grace_s` and only those whose record still does not exist are
        deleted.
        """
        markers = self._scan_markers()
        dead = [doc_id for doc_id, _, alive in markers if not alive]
        known = set(self.document_ids()) | {doc_id for doc_id, _, alive in markers if alive}
        orphans = [cid for cid, meta in self._scan_chunk_meta() if meta.get("doc_id") not in known]
        if orphans and grace_s > 0:
            time.sleep(grace_s)
            known = set(self.document_ids()) | {info.doc_id for info in self.indexing()}
            still = []
            for i in range(0, len(orphans), PAGE):  # one id list per call: SQLite caps variables
                got = self._chunks.get(ids=orphans[i : i + PAGE], include=["metadatas"])
                still += [cid for cid, meta in zip(got["ids"], got["metadatas"])
                          if meta.get("doc_id") not in known]
            orphans = still
        if orphans:
            with self._write_lock:
                self._changing()
                for i in range(0, len(orphans), PAGE):
                    self._chunks.delete(ids=orphans[i : i + PAGE])
        pieces = [pid for pid, meta in _paged(self._texts, ["metadatas"]) if meta.get("doc_id") not in known]
        if pieces:
            with self._write_lock:
                self._texts.delete(ids=pieces)
        self._unmark(dead)  # last: an interruption before this leaves them to be seen again
        return len(orphans)

    # --- reading -------------------------------------------------------------------------

    def existing(self, doc_ids: Iterable[str]) -> set[str]:
        """Those of `doc_ids` that are completely indexed reports."""
        ids = list(dict.fromkeys(doc_ids))
        found: set[str] = set()
        for i in range(0, len(ids), PAGE):
            found.update(self._docs.get(ids=ids[i : i + PAGE], include=[])["ids"])
        return found

    def document_ids(self) -> list[str]:
        """Ids of every completely indexed report (one call: ids alone are not fetched by an id
        list, so SQLite's cap does not apply, and one call is many times faster than reading
        page by page)."""
        return list(self._docs.get(include=[])["ids"])

    def documents(self) -> list[DocumentInfo]:
        """Every report, sorted by title. Read page by page: one call for all records fails
        past ~32,000 reports (SQLite's cap on a statement's variables)."""
        aliases = self._aliases_by_doc()
        infos = [replace(_info(doc_id, meta), aliases=aliases.get(doc_id, ()))
                 for doc_id, meta in _paged(self._docs, ["metadatas"])]
        return sorted(infos, key=lambda d: (d.title.lower(), d.source))

    def documents_by_sources(self, sources: Sequence[str]) -> dict[str, list[tuple[DocumentInfo, str]]]:
        """Records stored for each of some source paths, with their content hashes (sources
        with none are left out). One read for many: an ingest asks for a batch of files at once."""
        found: dict[str, list[tuple[DocumentInfo, str]]] = {}
        wanted = list(dict.fromkeys(sources))
        for i in range(0, len(wanted), PAGE):
            got = self._docs.get(where={"source": {"$in": wanted[i : i + PAGE]}}, include=["metadatas"])
            for doc_id, meta in zip(got["ids"], got["metadatas"]):
                info = _info(doc_id, meta)
                found.setdefault(info.source, []).append((info, str(meta.get("content_hash", ""))))
        return found

    def document(self, doc_id: str) -> DocumentInfo:
        """One report's facts, or NotFoundError."""
        got = self._docs.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"]:
            raise NotFoundError(f"no document with id {doc_id!r}")
        aliases = self._aliases.get(where={"doc_id": doc_id}, include=["metadatas"])["metadatas"]
        return replace(_info(doc_id, got["metadatas"][0]), aliases=tuple(sorted(str(m["source"]) for m in aliases)))

    def document_text(self, doc_id: str) -> str:
        """A report's extracted text: the text every offset points into."""
        got = self._docs.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"]:
            raise NotFoundError(f"no document with id {doc_id!r}")
        return self._whole_text(doc_id, str(got["documents"][0]), got["metadatas"][0])

    def document_texts(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Full texts of reports by id in one read (ids no longer stored are left out)."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        got = self._docs.get(ids=ids, include=["documents", "metadatas"])
        return {doc_id: self._whole_text(doc_id, str(text), meta)
                for doc_id, text, meta in zip(got["ids"], got["documents"], got["metadatas"])}

    def count_chunks(self) -> int:
        """How many chunks the collection holds."""
        return int(self._chunks.count())

    def count_documents(self) -> int:
        """How many reports are completely indexed."""
        return int(self._docs.count())

    def search(
        self, vector: np.ndarray, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The `k` chunks nearest to `vector`, with cosine similarity.

        A filter is first applied to the nearest `FILTER_OVERFETCH * k` chunks: Chroma's filtered
        query reads the metadata of every chunk it admits (tenths of a second in a collection
        of tens of thousands of chunks, for an `as_of` that admits most of them). Only when too
        few of those pass does Chroma filter.
        """
        if chunk_filter is None or chunk_filter.is_empty():
            return self._query(vector, k, None)
        near = self._query(vector, k * FILTER_OVERFETCH, None)
        passes = chunk_filter.accepts_chunks([c for c, _ in near])
        kept = [pair for pair, ok in zip(near, passes) if ok]
        if len(kept) >= k or len(near) < k * FILTER_OVERFETCH:
            return kept[:k]  # enough passed, or the collection holds no more to find
        return self._query(vector, k, chroma_where(chunk_filter))

    def _query(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None
    ) -> list[tuple[StoredChunk, float]]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        # llama-index's ChromaVectorStore takes `where` through query kwargs; its MetadataFilters
        # cannot express "$in" on every version we support.
        query = VectorStoreQuery(query_embedding=vector.tolist(), similarity_top_k=k)
        kwargs = {"where": where} if where else {}
        try:  # no count() first: it costs milliseconds a query, more as the collection grows
            result = self.vector_store.query(query, **kwargs)
        except Exception:  # some Chroma versions refuse to query an empty collection
            if self.count_chunks() == 0:
                return []
            raise
        # ChromaVectorStore reports exp(-distance); with cosine distance that is exp(cos - 1).
        return [
            (_chunk(node.node_id, node.get_content(), node.metadata), 1.0 + math.log(max(sim, 1e-12)))
            for node, sim in zip(result.nodes or [], result.similarities or [])
        ]

    def chunks_by_id(self, ids: Sequence[str]) -> list[StoredChunk]:
        """Chunks by id, in the order asked (missing ids are skipped)."""
        if not ids:
            return []
        got = self._chunks.get(ids=list(ids), include=["documents", "metadatas"])
        found = {
            cid: _chunk(cid, text, meta)
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"])
        }
        return [found[cid] for cid in ids if cid in found]

    def chunk_embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored (unit-length, float32) vectors of chunks by id; missing ids are left out.

        Lets an answerer score passages without embedding their texts again.
        """
        if not ids:
            return {}
        got = self._chunks.get(ids=list(ids), include=["embeddings"])
        return {
            cid: np.asarray(vector, dtype=np.float32)
            for cid, vector in zip(got["ids"], got["embeddings"])
        }

    def document_embeddings(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each report's vector by id (the unit-length mean of its chunks' vectors, stored with
        its record): what the whole report is about. Ids not found are left out."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        got = self._docs.get(ids=ids, include=["embeddings"])
        return {doc_id: np.asarray(vector, dtype=np.float32) for doc_id, vector in zip(got["ids"], got["embeddings"])}

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk, page by page (for rebuilding the chunk keyword index)."""
        for cid, text, meta in _paged(self._chunks, ["documents", "metadatas"]):
            yield _chunk(cid, text, meta)

    def iter_documents(self) -> Iterator[StoredChunk]:
        """Every report as one row spanning its whole text (for the report-level keyword index)."""
        for doc_id, text, meta in _paged(self._docs, ["documents", "metadatas"]):
            yield whole_document(_info(doc_id, meta), self._whole_text(doc_id, str(text), meta))

    def _scan_chunk_meta(self) -> Iterator[tuple[str, dict[str, Any]]]:
        for cid, meta in _paged(self._chunks, ["metadatas"]):
            yield cid, meta


def _paged(collection: Any, include: list[str]) -> Iterator[tuple[Any, ...]]:
    """`(id, *included fields)` of every record of a Chroma collection, PAGE records a call."""
    offset = 0
    while True:
        got = collection.get(include=include, limit=PAGE, offset=offset)
        if not got["ids"]:
            return
        yield from zip(got["ids"], *(got[field] for field in include))
        offset += len(got["ids"])


def chunk_nodes(info: DocumentInfo, chunks: Sequence[tuple[str, int, int, str]], vectors: np.ndarray) -> list[Any]:
    """llama-index TextNodes of one report's chunks (ChromaVectorStore's storage format)."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    nodes = []
    for (chunk_id, start, end, text), vector in zip(chunks, vectors):
        node = TextNode(
            id_=chunk_id,
            text=text,
            embedding=vector.tolist(),
            metadata={
                "doc_id": info.doc_id,
                "title": info.title,
                "source": info.source,
                "date": info.date or "",
                "date_ord": date_ordinal(info.date),
                "start": start,
                "end": end,
            },
            start_char_idx=start,
            end_char_idx=end,
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=info.doc_id)
        nodes.append(node)
    return nodes


def _record_meta(info: DocumentInfo, content_hash: str) -> dict[str, Any]:
    return {
        "title": info.title,
        "source": info.source,
        "date": info.date or "",
        "date_source": info.date_source or "",
        "date_ord": date_ordinal(info.date),
        "chunks": info.chunks,
        "chars": info.chars,
        "content_hash": content_hash,
    }


def _owner() -> str:
    """Who writes a marker: this machine and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(marker: dict[str, Any]) -> bool:
    """Whether the run that wrote a marker is still going: renewed lately and, when it ran on
    this machine, its process still exists (a run killed here is seen as dead at once)."""
    if time.time() - float(marker.get("heartbeat", 0.0)) > MARKER_STALE_S:
        return False
    host, _, pid = str(marker.get("owner", "")).rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):  # another user's process; an unreadable owner
        return True
    return True


def _alias_id(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:32]


def _info(doc_id: str, meta: dict[str, Any]) -> DocumentInfo:
    return DocumentInfo(
        doc_id=doc_id,
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        date=str(meta["date"]) if meta.get("date") else None,
        date_source=str(meta["date_source"]) if meta.get("date_source") else None,
        chunks=int(meta.get("chunks", 0)),
        chars=int(meta.get("chars", 0)),
    )


def stored_chunks(info: DocumentInfo, rows: Sequence[tuple[str, int, int, str]]) -> list[StoredChunk]:
    """A report's chunks as stored, from its `(chunk_id, start, end, text)` rows."""
    return [StoredChunk(cid, info.doc_id, info.title, info.source, info.date, start, end, text)
            for cid, start, end, text in rows]


def whole_document(info: DocumentInfo, text: str) -> StoredChunk:
    """A report as one row of the report-level keyword index: its id stands for a chunk id."""
    return StoredChunk(info.doc_id, info.doc_id, info.title, info.source, info.date, 0, len(text), text)


def _chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> StoredChunk:
    return StoredChunk(
        chunk_id=chunk_id,
        doc_id=str(meta.get("doc_id", "")),
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        date=str(meta["date"]) if meta.get("date") else None,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", 0)),
        text=text,
    )
