"""Small deterministic fakes of the embedder, the store and the answerer, for the fast tier.

They keep the contracts the real parts keep (offsets into the report text, unit vectors, a
record means "completely indexed") and nothing else, so a test over them runs in milliseconds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from typing import Collection, Iterable, Iterator, Sequence

import numpy as np

from assistant.answerers.base import Answerer, Reply
from assistant.citations import Claim, Support
from assistant.config import Settings
from assistant.core import Assistant
from assistant.timeline import TimelineTuning, Timelines, word_judge
from index.common.errors import NotFoundError
from index.common.text import sentence_spans, tokenize
from index.common.types import DocumentInfo, IndexingInfo, Retrieved
from index.keyword import KeywordIndex
from index.query import Query
from index.report_index import ReportIndex
from index.records import ChunkFilter, StoredChunk
from index.store import whole_document

_WORD = re.compile(r"\S+")


class FakeEmbedder:
    """Hashed bags of stemmed words: texts that share words are near, the rest are not.
    A "word piece" is a whitespace-separated word."""

    dimension = 256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, words in enumerate(tokenize(list(texts)) if texts else []):
            for word in words:
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dimension] += 1.0
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one text."""
        return self.embed([text])[0]

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """As `embed`."""
        return self.embed(texts)

    def prepare_passages(self) -> None:
        """Nothing to load."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Words of each text."""
        return [len(_WORD.findall(t)) for t in texts]

    def split_by_tokens(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Spans of at most `max_tokens` words."""
        words = [m.span() for m in _WORD.finditer(text)]
        return [(words[i][0], words[min(i + max_tokens, len(words)) - 1][1])
                for i in range(0, len(words), max_tokens)]


class MemoryStore:
    """The `index.store.Store` protocol in dictionaries, with exact cosine search."""

    def __init__(self) -> None:
        self._chunks: dict[str, tuple[StoredChunk, np.ndarray]] = {}
        self._docs: dict[str, tuple[DocumentInfo, str, str]] = {}  # info, text, content hash
        self._markers: dict[str, tuple[IndexingInfo, bool]] = {}  # doc_id: marker, alive
        self._aliases: dict[str, str] = {}  # source: doc_id
        self.marked: list[tuple[IndexingInfo, bool]] = []  # every marker written, for tests
        self._writes = 0  # one process: every change is this object's own

    def changes(self) -> int:
        return self._writes

    def own_changes(self) -> int:
        return self._writes

    def existing(self, doc_ids: Iterable[str]) -> set[str]:
        return {doc_id for doc_id in doc_ids if doc_id in self._docs}

    def add_documents(self, batch: Sequence[tuple]) -> None:
        """Whole reports at once, as the real store does."""
        self.write_batch(
            [(info, chunks, vectors) for info, chunks, vectors, _, _ in batch],
            [(info, text, digest, vectors.mean(axis=0)) for info, _, vectors, text, digest in batch],
            [info.doc_id for info, *_ in batch],
        )

    def write_batch(self, parts: Sequence[tuple], records: Sequence[tuple] = (),
                    fresh: Collection[str] = ()) -> None:
        """Chunks first, then the records (dropping their markers), as the real store does."""
        self._writes += 1
        for doc_id in fresh:
            self._drop_chunks(doc_id)
        for info, chunks, vectors in parts:
            for (cid, start, end, text), vector in zip(chunks, vectors):
                chunk = StoredChunk(cid, info.doc_id, info.title, info.source, info.date, start, end, text)
                self._chunks[cid] = (chunk, np.asarray(vector, dtype=np.float32))
        for info, text, digest, _ in records:
            self._docs[info.doc_id] = (info, text, digest)
            self._markers.pop(info.doc_id, None)

    def mark_indexing(self, info: IndexingInfo, alive: bool = True) -> None:
        """A report being written in several batches; a marker not alive is an interrupted run's."""
        self._markers[info.doc_id] = (info, alive)
        self.marked.append((info, alive))

    def indexing(self) -> list[IndexingInfo]:
        return [info for info, alive in self._markers.values() if alive]

    def interrupted(self) -> bool:
        return not all(alive for _, alive in self._markers.values())

    def restamp_document(self, info: DocumentInfo, text: str, content_hash: str) -> list[StoredChunk]:
        """New facts for a stored report, its chunks and vectors kept."""
        self._writes += 1
        self._docs[info.doc_id] = (info, text, content_hash)
        restamped = []
        for cid, (chunk, vector) in list(self._chunks.items()):
            if chunk.doc_id == info.doc_id:
                chunk = replace(chunk, title=info.title, source=info.source, date=info.date)
                self._chunks[cid] = (chunk, vector)
                restamped.append(chunk)
        return restamped

    def delete_document(self, doc_id: str) -> None:
        """Remove a report's record, chunks and aliases."""
        self._writes += 1
        self._docs.pop(doc_id, None)
        self._drop_chunks(doc_id)
        self._aliases = {s: d for s, d in self._aliases.items() if d != doc_id}

    def add_alias(self, source: str, doc_id: str) -> None:
        self._aliases[source] = doc_id

    def drop_aliases(self, sources: Sequence[str]) -> None:
        for source in sources:
            self._aliases.pop(source, None)

    def _with_aliases(self, info: DocumentInfo) -> DocumentInfo:
        return replace(info, aliases=tuple(sorted(s for s, d in self._aliases.items() if d == info.doc_id)))

    def _drop_chunks(self, doc_id: str) -> None:
        """Remove a report's chunks."""
        self._writes += 1
        for cid in [c for c, (chunk, _) in self._chunks.items() if chunk.doc_id == doc_id]:
            del self._chunks[cid]

    def remove_orphans(self, grace_s: float = 2.0) -> int:
        """Remove chunks without a record or a live marker, then the markers not alive."""
        live = {doc_id for doc_id, (_, alive) in self._markers.items() if alive}
        orphans = {chunk.doc_id for chunk, _ in self._chunks.values()} - set(self._docs) - live
        before = len(self._chunks)
        for doc_id in orphans:
            self._drop_chunks(doc_id)
        self._markers = {doc_id: marker for doc_id, marker in self._markers.items() if marker[1]}
        return before - len(self._chunks)

    def document_ids(self) -> list[str]:
        return list(self._docs)

    def documents(self) -> list[DocumentInfo]:
        return sorted((self._with_aliases(info) for info, _, _ in self._docs.values()),
                      key=lambda d: (d.title.lower(), d.source))

    def documents_by_sources(self, sources: Sequence[str]) -> dict[str, list[tuple[DocumentInfo, str]]]:
        found: dict[str, list[tuple[DocumentInfo, str]]] = {}
        for info, _, digest in self._docs.values():
            if info.source in sources:
                found.setdefault(info.source, []).append((info, digest))
        return found

    def document(self, doc_id: str) -> DocumentInfo:
        return self._with_aliases(self._record(doc_id)[0])

    def document_text(self, doc_id: str) -> str:
        return self._record(doc_id)[1]

    def document_texts(self, doc_ids: Iterable[str]) -> dict[str, str]:
        return {d: self._docs[d][1] for d in doc_ids if d in self._docs}

    def count_chunks(self) -> int:
        return len(self._chunks)

    def count_documents(self) -> int:
        return len(self._docs)

    def search(
        self, vector: np.ndarray, k: int, chunk_filter: ChunkFilter | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The `k` nearest chunks that pass the filter, by cosine similarity."""
        rows = list(self._chunks.values())
        if chunk_filter is not None and rows:
            passes = chunk_filter.accepts_chunks([c for c, _ in rows])
            rows = [row for row, ok in zip(rows, passes) if ok]
        scored = sorted(((chunk, float(v @ vector)) for chunk, v in rows), key=lambda p: -p[1])
        return scored[:k]

    def chunks_by_id(self, ids: Sequence[str]) -> list[StoredChunk]:
        return [self._chunks[c][0] for c in ids if c in self._chunks]

    def chunk_embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {c: self._chunks[c][1] for c in ids if c in self._chunks}

    def document_embeddings(self, doc_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The unit-length mean of each stored report's chunk vectors, as the real store keeps."""
        out = {}
        for doc_id in dict.fromkeys(doc_ids):
            vectors = [v for chunk, v in self._chunks.values() if chunk.doc_id == doc_id]
            if doc_id in self._docs and vectors:
                mean = np.mean(vectors, axis=0)
                out[doc_id] = mean / (np.linalg.norm(mean) or 1.0)
        return out

    def iter_chunks(self) -> Iterator[StoredChunk]:
        return iter([chunk for chunk, _ in self._chunks.values()])

    def iter_documents(self) -> Iterator[StoredChunk]:
        return iter([whole_document(info, text) for info, text, _ in self._docs.values()])

    def _record(self, doc_id: str) -> tuple[DocumentInfo, str, str]:
        if doc_id not in self._docs:
            raise NotFoundError(f"no document with id {doc_id!r}")
        return self._docs[doc_id]


class FirstSentenceAnswerer(Answerer):
    """Cites the first sentence of the best passage; refuses when there is no passage."""

    name = "first-sentence"

    def answer(self, question: Query, found: Retrieved) -> Reply:
        """The best passage's first sentence, cited."""
        passages = found.passages
        if not passages:
            return Reply.refusal()
        best = passages[0]
        start, end = sentence_spans(best.text)[0]
        support = Support(best, best.start + start, best.start + end, best.score)
        return Reply.from_claims([Claim(support.quote, (support,))], {"passages": float(len(passages))})


def fake_assistant(settings: Settings) -> Assistant:
    """The chain over a `ReportIndex` of the fakes above (and real BM25 indexes under the
    settings' home), answering with `FirstSentenceAnswerer`; timelines judged by words (the
    reader is a real model) and by the fake embedder's vectors, which are bags of hashed words:
    a report about the topic sits further from a few words of it than MiniLM's would, hence a
    wider `focus_ratio`."""
    index = ReportIndex(FakeEmbedder(), MemoryStore(), KeywordIndex(settings.keyword_path),
                        KeywordIndex(settings.document_keyword_path))
    timelines = Timelines(index, word_judge, TimelineTuning(focus_ratio=0.5))
    return Assistant(settings, index, FirstSentenceAnswerer(), timelines=timelines)
