"""The index's one face: the reports' store, the two keyword indexes kept in step with it,
ingestion and retrieval. Everything above `index/` (the chain, the eval, the bench) goes
through a `ReportIndex`, never through its parts."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from index.chunking import ChunkingPolicy
from index.common.dates import parse_day, to_date
from index.common.types import DocumentInfo, IndexingInfo, IngestReport, Passage, Retrieved
from index.embedding import Embedder
from index.headlines import headlines
from index.ingest import EmbeddedReport, Ingestor
from index.keyword import KeywordIndex
from index.keyword.sync import CHUNKS, DOCUMENTS, sync_keyword_indexes
from index.query import Query, check_text
from index.records import ChunkFilter, StoredChunk
from index.retrieval import RetrievalTuning, Retriever, make_retriever
from index.store import ChromaStore, Store, make_client

class ReportIndex:
    """The reports of one collection, searchable by meaning and by words."""

    def __init__(
        self,
        embedder: Embedder,
        store: Store,
        keyword: KeywordIndex,
        document_keyword: KeywordIndex,
        retrieval_mode: str = "hybrid",
        tuning: RetrievalTuning = RetrievalTuning(),
        chunking: ChunkingPolicy = ChunkingPolicy(),
        max_file_bytes: int | None = None,
    ) -> None:
        """The index over the parts it is handed (`open` builds the real ones; the fast tests
        hand in small fakes). Keyword indexes behind the store are brought up to date."""
        self.embedder = embedder
        self._store = store
        self._keyword = keyword
        self._document_keyword = document_keyword
        sync_keyword_indexes(store, ((keyword, CHUNKS), (document_keyword, DOCUMENTS)))
        self._retriever: Retriever = make_retriever(
            retrieval_mode, store, keyword, document_keyword, embedder, tuning
        )
        self._ingestor = Ingestor(store, keyword, document_keyword, embedder, chunking,
                                  max_file_bytes=max_file_bytes)
        # Writes are serialized; reads go on while one runs (the keyword index swaps atomically).
        self._write_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        embedder: Embedder,
        chroma_path: Path,
        collection: str,
        keyword_path: Path,
        document_keyword_path: Path,
        chroma_url: str | None = None,
        **options: object,
    ) -> "ReportIndex":
        """The index in an embedded Chroma store at `chroma_path` (or the Chroma server at
        `chroma_url`) with its keyword indexes at the given folders; `options` are those of
        the constructor (retrieval_mode, tuning, chunking, max_file_bytes)."""
        store = ChromaStore(make_client(chroma_path, chroma_url), collection)
        return cls(embedder, store, KeywordIndex(keyword_path), KeywordIndex(document_keyword_path),
                   **options)  # type: ignore[arg-type]

    # --- writing -------------------------------------------------------------------------

    def ingest(self, paths: Iterable[str | Path], date: str | None = None, **options: Any) -> IngestReport:
        """Index files and folders, one write at a time; `date` (YYYY-MM-DD) is checked first.
        `options` are `Ingestor.ingest`'s (progress, source_of, on_progress)."""
        date = parse_day(date, "date")
        with self._write_lock:
            return self._ingestor.ingest(paths, date=date, **options)

    def add_embedded(self, batches: Iterable[Sequence[EmbeddedReport]]) -> dict[str, float]:
        """Store reports embedded elsewhere (`Ingestor.add_embedded`); the seconds spent
        writing and updating the keyword indexes."""
        with self._write_lock:
            return self._ingestor.add_embedded(batches)

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report everywhere (vectors and keyword indexes)."""
        with self._write_lock:
            return self._ingestor.delete(doc_id)

    # --- reading -------------------------------------------------------------------------

    def documents(self) -> list[DocumentInfo]:
        """Every indexed report."""
        return self._store.documents()

    def documents_by_source(self, source: str) -> list[DocumentInfo]:
        """The reports indexed from `source`."""
        return [info for info, _ in self._store.documents_by_sources([source]).get(source, [])]

    def indexing(self) -> list[IndexingInfo]:
        """Reports being indexed now, by this process or another, and how far each got."""
        return self._store.indexing()

    def document(self, doc_id: str) -> DocumentInfo:
        """What the index knows about one report; NotFoundError for an unknown id."""
        return self._store.document(doc_id)

    def document_text(self, doc_id: str) -> str:
        """The extracted text of a report: what every `start`/`end` points into."""
        return self._store.document_text(doc_id)

    def document_texts(self, doc_ids: Iterable[str]) -> dict[str, str]:
        """The texts of these reports by id, in one read (ids not found are left out)."""
        return self._store.document_texts(doc_ids)

    def headlines(self, doc_ids: Sequence[str]) -> dict[str, Passage]:
        """The headline of each of these reports that has one, as a citable passage, by id
        (index/headlines.py)."""
        return headlines(self._store, doc_ids)

    def first_chunks(self, doc_ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The first chunk of each of these reports (its opening: headline and lead), by id,
        in one read."""
        firsts = self._store.chunks_by_id([f"{doc_id}:0" for doc_id in dict.fromkeys(doc_ids)])
        return {chunk.doc_id: chunk for chunk in firsts}

    def count_documents(self) -> int:
        """How many reports are indexed."""
        return self._store.count_documents()

    def count_chunks(self) -> int:
        """How many chunks are indexed."""
        return self._store.count_chunks()

    def chunks(self) -> Iterator[StoredChunk]:
        """Every chunk, in store order."""
        return self._store.iter_chunks()

    def chunk_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of these chunks by id (ids not found are left out)."""
        return self._store.chunk_embeddings(chunk_ids)

    def document_vectors(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each report's stored vector by id, the unit-length mean of its chunks' vectors: what
        the whole report is about (ids not found are left out)."""
        return self._store.document_embeddings(doc_ids)

    # --- searching -----------------------------------------------------------------------

    def query(
        self,
        text: str,
        as_of: str | None = None,
        sources: Sequence[str] = (),
        doc_ids: Sequence[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
        field: str = "query",
    ) -> Query:
        """`text` as retrieval and the answerer see it (`Query.build`), with the filters.
        Raises InputError naming the bad field."""
        text = check_text(text, field)
        day = to_date(as_of, "as_of") if as_of not in (None, "") else None
        latest = min(filter(None, (day and day.isoformat(), parse_day(date_to, "date_to"))), default=None)
        chunk_filter = ChunkFilter(
            date_to=latest, date_from=parse_day(date_from, "date_from"),
            sources=tuple(sources), doc_ids=tuple(doc_ids),
        )
        return Query.build(text, self.embedder.embed_query, as_of=day, chunk_filter=chunk_filter)

    def retrieve(self, query: Query, k: int) -> list[Passage]:
        """The `k` passages most relevant to `query`, best first."""
        return self._retriever.retrieve(query, k)

    def ranked(self, query: Query, n: int) -> list[tuple[StoredChunk, float]]:
        """The first stage's `n` best `(chunk, score)` candidates, before any time preference
        or selection (what `eval.fit_time` fits the time preference on)."""
        return self._retriever.ranked(query, n, query.chunk_filter)

    def gather(self, query: Query, k: int) -> Retrieved:
        """The `k` best passages with what an answerer needs beside them: their reports'
        headlines and the passages' stored vectors (so they are not embedded again)."""
        passages = self.retrieve(query, k)
        return Retrieved(
            passages=tuple(passages),
            headlines=headlines(self._store, list({p.doc_id: p for p in reversed(passages)})),
            vectors=self._store.chunk_embeddings(list(dict.fromkeys(p.chunk_id for p in passages))),
        )
