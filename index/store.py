"""The Chroma store: chunks (through llama-index's ChromaVectorStore) and one record per report.

Chroma is the single source of truth. A report's record (its full text and facts) is written
after its chunks, so a record means "completely indexed"; chunks without a record are
leftovers of an interrupted ingest and are removed by `remove_orphans`.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Iterator, Protocol, Sequence
from urllib.parse import urlparse

import numpy as np

from index.common.errors import NotFoundError, StoreError
from index.common.types import DocumentInfo
from index.records import ChunkFilter, StoredChunk, date_ordinal

PAGE = 2000  # records per Chroma get() call when scanning a collection
FILTER_OVERFETCH = 4  # a filtered search looks at this many times k nearest chunks first


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
        self, batch: Sequence[tuple[DocumentInfo, Sequence[tuple[str, int, int, str]], np.ndarray, str, str]]
    ) -> None: ...
    def restamp_document(self, info: DocumentInfo, text: str, content_hash: str) -> list[StoredChunk]: ...
    def delete_document(self, doc_id: str) -> None: ...
    def remove_orphans(self, grace_s: float = 2.0) -> int: ...
    def changes(self) -> int: ...
    def own_changes(self) -> int: ...
    def existing(self, doc_ids: Iterable[str]) -> set[str]: ...
    def document_ids(self) -> list[str]: ...
    def documents(self) -> list[DocumentInfo]: ...
    def documents_by_source(self, source: str) -> list[tuple[DocumentInfo, str]]: ...
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

    def add_documents(
        self, batch: Sequence[tuple[DocumentInfo, Sequence[tuple[str, int, int, str]], np.ndarray, str, str]]
    ) -> None:
        """Store many reports at once: `(info, chunks, chunk vectors, text, content_hash)` each.

        Old chunks of the same ids go first, then all chunks in pages, then all records: a record
        still means "completely indexed". A few large Chroma calls instead of four per report.
        """
        if not batch:
            return
        doc_ids = [info.doc_id for info, *_ in batch]
        with self._write_lock:
            self._changing()
            self._chunks.delete(where={"document_id": {"$in": doc_ids}})
        self._add_nodes([n for info, chunks, vectors, _, _ in batch for n in chunk_nodes(info, chunks, vectors)])
        records = []
        for info, _, vectors, text, digest in batch:
            mean = vectors.mean(axis=0)
            records.append((info, text, digest, mean / (np.linalg.norm(mean) or 1.0)))
        with self._write_lock:
            self._docs.upsert(
                ids=[info.doc_id for info, *_ in records],
                documents=[text for _, text, _, _ in records],
                embeddings=[vector.tolist() for *_, vector in records],
                metadatas=[_record_meta(info, digest) for info, _, digest, _ in records],
            )

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
        """Remove a report's record first, then its chunks (one write, counted once)."""
        with self._write_lock:
            self._changing()
            self._docs.delete(ids=[doc_id])
            self.vector_store.delete(ref_doc_id=doc_id)

    def delete_chunks_of(self, doc_id: str) -> None:
        """Remove a report's chunks (its record stays)."""
        with self._write_lock:
            self._changing()
            self.vector_store.delete(ref_doc_id=doc_id)

    def remove_orphans(self, grace_s: float = 2.0) -> int:
        """Delete chunks whose report has no record (an interrupted ingest). Returns how many.

        Another process sharing a Chroma server may be between writing a report's chunks and
        its record: orphans are looked at again after `grace_s` and only those whose record
        still does not exist are deleted.
        """
        known = set(self.document_ids())
        orphans = [cid for cid, meta in self._scan_chunk_meta() if meta.get("doc_id") not in known]
        if orphans and grace_s > 0:
            time.sleep(grace_s)
            known = set(self.document_ids())
            still = []
            for i in range(0, len(orphans), PAGE):  # one id list per call: SQLite caps variables
                got = self._chunks.get(ids=orphans[i : i + PAGE], include=["metadatas"])
                still += [cid for cid, meta in zip(got["ids"], got["metadatas"])
                          if meta.get("doc_id") not in known]
            orphans = still
        if not orphans:
            return 0
        with self._write_lock:
            self._changing()
            for i in range(0, len(orphans), PAGE):
                self._chunks.delete(ids=orphans[i : i + PAGE])
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
        list, so SQLite's cap does not apply; 1.2 s at 250,000 reports, against 18 s paged)."""
        return list(self._docs.get(include=[])["ids"])

    def documents(self) -> list[DocumentInfo]:
        """Every report, sorted by title. Read page by page: one call for all records fails
        past ~32,000 reports (SQLite's cap on a statement's variables)."""
        infos = [_info(doc_id, meta) for doc_id, meta in _paged(self._docs, ["metadatas"])]
        return sorted(infos, key=lambda d: (d.title.lower(), d.source))

    def documents_by_source(self, source: str) -> list[tuple[DocumentInfo, str]]:
        """Records stored for a source path, with their content hashes."""
        got = self._docs.get(where={"source": source}, include=["metadatas"])
        return [
            (_info(doc_id, meta), str(meta.get("content_hash", "")))
            for doc_id, meta in zip(got["ids"], got["metadatas"])
        ]

    def document(self, doc_id: str) -> DocumentInfo:
        """One report's facts, or NotFoundError."""
        got = self._docs.get(ids=[doc_id], include=["metadatas"])
        if not got["ids"]:
            raise NotFoundError(f"no document with id {doc_id!r}")
        return _info(doc_id, got["metadatas"][0])

    def document_text(self, doc_id: str) -> str:
        """A report's extracted text: the text every offset points into."""
        got = self._docs.get(ids=[doc_id], include=["documents"])
        if not got["ids"]:
            raise NotFoundError(f"no document with id {doc_id!r}")
        return str(got["documents"][0])

    def document_texts(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """Full texts of reports by id in one read (ids no longer stored are left out)."""
        ids = list(dict.fromkeys(doc_ids))
        if not ids:
            return {}
        got = self._docs.get(ids=ids, include=["documents"])
        return {doc_id: str(text) for doc_id, text in zip(got["ids"], got["documents"])}

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
        query reads the metadata of every chunk it admits (0.1-0.9 s at 60,000 chunks for an
        `as_of` that admits most of them). Only when too few of those pass does Chroma filter.
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
        try:  # no count() first: it costs ~10 ms at 100,000 chunks
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

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every chunk, page by page (for rebuilding the chunk keyword index)."""
        for cid, text, meta in _paged(self._chunks, ["documents", "metadatas"]):
            yield _chunk(cid, text, meta)

    def iter_documents(self) -> Iterator[StoredChunk]:
        """Every report as one row spanning its whole text (for the report-level keyword index)."""
        for doc_id, text, meta in _paged(self._docs, ["documents", "metadatas"]):
            yield whole_document(_info(doc_id, meta), str(text))

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
