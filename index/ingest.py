"""Incremental ingestion: load -> chunk -> embed -> store, then bring the keyword index in step."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from assistant.errors import DocumentError, UnsupportedFileError
from assistant.models import DocumentInfo, IngestReport
from index.chunking import Chunk, ChunkingPolicy, chunk_text
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS, Embedder
from index.keyword import KeywordIndex, Stamp
from index.loaders import LoadedDocument, discover, load_file
from index.store import ChromaStore

# Reports loaded and embedded together: one large embedding batch is faster than many small ones.
GROUP_SIZE = 32
TITLE_MAX_TOKENS = 48


@dataclass(frozen=True)
class _Planned:
    doc: LoadedDocument
    chunks: list[Chunk]
    embed_texts: list[str]
    replaces: list[str]  # doc_ids of older versions of the same source


def sync_keyword_index(store: ChromaStore, keyword: KeywordIndex) -> bool:
    """Rebuild the keyword index if it no longer matches the store. Returns True if rebuilt."""
    stamp = Stamp.of(store.count_chunks(), store.document_ids())
    if keyword.stamp == stamp:
        return False
    keyword.rebuild(store.iter_chunks(), stamp)
    return True


def repair(store: ChromaStore) -> int:
    """Remove what an interrupted ingest left behind; cheap when nothing was interrupted."""
    expected = sum(d.chunks for d in store.documents())
    if expected == store.count_chunks():
        return 0
    return store.remove_orphans()


class Ingestor:
    """Adds, updates and skips reports so that the store mirrors the files given."""

    def __init__(
        self,
        store: ChromaStore,
        keyword: KeywordIndex,
        embedder: Embedder,
        policy: ChunkingPolicy = ChunkingPolicy(),
        max_file_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.keyword = keyword
        self.embedder = embedder
        self.policy = policy
        self.max_file_bytes = max_file_bytes
        self._known: set[str] | None = None  # ids in the store, read once per group

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: bool | None = None,
        source_of: Callable[[Path], str] | None = None,
    ) -> IngestReport:
        """Index files and folders (recursively). A bad file is reported and skipped.

        `source_of` names each file's `source` (default: its absolute path).
        """
        files, problems = discover(paths)
        report = IngestReport(failed=[{"path": p, "error": why} for p, why in problems])
        repair(self.store)
        show = sys.stderr.isatty() if progress is None else progress
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", disable=not show, file=sys.stderr)
        name = source_of or (lambda p: str(p.resolve()))
        try:
            for i in range(0, len(files), GROUP_SIZE):
                group = files[i : i + GROUP_SIZE]
                self._ingest_group(group, [name(p) for p in group], report)
                bar.update(len(group))
        finally:
            bar.close()
            sync_keyword_index(self.store, self.keyword)
        report.documents = self.store.count_documents()
        report.chunks = self.store.count_chunks()
        return report

    def _ingest_group(self, files: Sequence[Path], sources: Sequence[str], report: IngestReport) -> None:
        planned: list[_Planned] = []
        for path, source in zip(files, sources):
            try:
                doc = load_file(path, source=source, max_bytes=self.max_file_bytes)
            except (DocumentError, UnsupportedFileError) as exc:
                reason = exc.reason if isinstance(exc, DocumentError) else str(exc)
                report.failed.append({"path": source, "error": reason})
                continue
            existing = self.store.documents_by_source(source)
            current = [info for info, digest in existing if digest == doc.content_hash]
            stale = [info.doc_id for info, digest in existing if digest != doc.content_hash]
            if current or (not existing and doc.doc_id in self._known_ids()):
                for doc_id in stale:  # left by an update that was interrupted
                    self.store.delete_document(doc_id)
                report.unchanged.append(source)
                continue
            chunks = self._chunk(doc)
            planned.append(_Planned(doc, chunks, [self._embed_text(doc, c) for c in chunks], stale))
        if not planned:
            return
        vectors = self.embedder.embed([t for p in planned for t in p.embed_texts])
        offset = 0
        for plan in planned:
            doc_vectors = vectors[offset : offset + len(plan.chunks)]
            offset += len(plan.chunks)
            self._write(plan, doc_vectors)
            (report.updated if plan.replaces else report.added).append(plan.doc.source)
        self._known = None

    def _known_ids(self) -> set[str]:
        if self._known is None:
            self._known = set(self.store.document_ids())
        return self._known

    def _chunk(self, doc: LoadedDocument) -> list[Chunk]:
        title_tokens = min(self.embedder.count_tokens([doc.title])[0], TITLE_MAX_TOKENS)
        room = MODEL_WINDOW - SPECIAL_TOKENS - title_tokens - 1
        policy = ChunkingPolicy(
            max_tokens=min(self.policy.max_tokens, room),
            overlap_tokens=self.policy.overlap_tokens,
        )
        return chunk_text(doc.text, self.embedder.count_tokens, self.embedder.split_by_tokens, policy)

    @staticmethod
    def _embed_text(doc: LoadedDocument, chunk: Chunk) -> str:
        # The title gives every chunk its story's context; the first chunk usually holds it already.
        return chunk.text if doc.title.rstrip("…") in chunk.text else f"{doc.title}\n{chunk.text}"

    def _write(self, plan: _Planned, vectors: np.ndarray) -> None:
        doc = plan.doc
        info = DocumentInfo(
            doc_id=doc.doc_id, title=doc.title, source=doc.source, date=doc.date,
            chunks=len(plan.chunks), chars=len(doc.text),
        )
        # Chunks first, the report's record last: a record means "completely indexed".
        self.store.delete_chunks_of(doc.doc_id)
        self.store.add_chunks(
            info, [(f"{doc.doc_id}:{c.index}", c.start, c.end, c.text) for c in plan.chunks], vectors
        )
        mean = vectors.mean(axis=0)
        self.store.put_document(info, doc.text, doc.content_hash, mean / (np.linalg.norm(mean) or 1.0))
        for old in plan.replaces:
            self.store.delete_document(old)

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report from the store and the keyword index."""
        info = self.store.document(doc_id)
        self.store.delete_document(doc_id)
        sync_keyword_index(self.store, self.keyword)
        return info
