"""Incremental ingestion: load -> chunk -> embed -> store, then bring the keyword indexes in step."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from operator import methodcaller
from pathlib import Path
from typing import Callable, Iterable, NamedTuple, Sequence

from index.chunking import Chunk, ChunkingPolicy, chunk_text
from index.common.errors import DocumentError, UnsupportedFileError
from index.common.types import DocumentInfo, IngestReport
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS, Embedder
from index.keyword import KeywordIndex, Stamp
from index.loaders import LoadedDocument, discover, load_file
from index.records import StoredChunk
from index.store import Store, stored_chunks, whole_document

# Reports loaded and chunked together, in a worker thread, while the previous group embeds.
GROUP_SIZE = 32
TITLE_MAX_TOKENS = 48


@dataclass(frozen=True)
class _Planned:
    doc: LoadedDocument
    chunks: list[Chunk]
    embed_texts: list[str]
    replaces: list[str]  # doc_ids of older versions of the same source
    # Chunk counts of what this replaces: those versions, and its own id when it is embedded
    # again because its title changed (a sidecar's). Empty for a new report.
    replaced_chunks: dict[str, int]


@dataclass(frozen=True)
class Level:
    """What one keyword index holds a row of: a chunk, or a whole report (`whole_document`)."""

    name: str
    count: Callable[[Store], int]
    rows: Callable[[Store], Iterable[StoredChunk]]


CHUNKS = Level("chunks", methodcaller("count_chunks"), methodcaller("iter_chunks"))
DOCUMENTS = Level("documents", methodcaller("count_documents"), methodcaller("iter_documents"))


# A keyword index and what it holds a row of.
Indexed = tuple[KeywordIndex, Level]


class KeywordChange(NamedTuple):
    """What this process wrote to the store, for one keyword index: the store's stamp at the
    index's level before (`store_stamps`), the rows added and the row counts of reports removed."""

    keyword: KeywordIndex
    level: Level
    before: Stamp
    added: Sequence[StoredChunk]
    removed: dict[str, int]


def store_stamps(store: Store, levels: Sequence[Level]) -> list[Stamp]:
    """The store's stamp at each of `levels`: its row count there and its change count."""
    changes = store.changes()
    return [Stamp(level.count(store), changes) for level in levels]


def _rebuild_if_stale(store: Store, keyword: KeywordIndex, level: Level, stamp: Stamp) -> bool:
    if keyword.stamp == stamp:
        return False
    keyword.rebuild(level.rows(store), stamp)
    return True


def sync_keyword_indexes(store: Store, indexes: Sequence[Indexed]) -> list[bool]:
    """Rebuild each keyword index that no longer matches the store; which ones were rebuilt."""
    stamps = store_stamps(store, [level for _, level in indexes])
    return [_rebuild_if_stale(store, keyword, level, stamp)
            for (keyword, level), stamp in zip(indexes, stamps)]


def update_keyword_indexes(store: Store, changes: Sequence[KeywordChange], writes: int) -> None:
    """Bring keyword indexes in step after this process changed the store with `writes` writes
    (the rise of its change count that this process caused).

    When an index matched the store before and the store now holds exactly that plus our
    change (its row count moved by our rows, its change count by our writes alone), the index
    is updated in place; otherwise (another process wrote meanwhile, an interrupted run) it is
    rebuilt from the store.
    """
    nows = store_stamps(store, [change.level for change in changes])
    for change, now in zip(changes, nows):
        expected = Stamp(change.before.rows + len(change.added) - sum(change.removed.values()),
                         change.before.changes + writes)
        if change.keyword.stamp == change.before and now == expected:
            if change.added or change.removed:
                change.keyword.update(change.added, change.removed, now)
        else:
            _rebuild_if_stale(store, change.keyword, change.level, now)


def embedded_text(title: str, text: str) -> str:
    """What is embedded for a chunk of a report titled `title`: the title gives every chunk its
    story's context, in front of the chunk unless it already holds it (the first usually does)."""
    return text if title.rstrip("…") in text else f"{title}\n{text}"


def repair(store: Store) -> int:
    """Remove what an interrupted ingest left behind; cheap when nothing was interrupted."""
    expected = sum(d.chunks for d in store.documents())
    if expected == store.count_chunks():
        return 0
    return store.remove_orphans()


def _facts(doc: DocumentInfo | LoadedDocument) -> tuple[str, str | None, str | None]:
    """What a report's record says about it besides its text: title, date, date source."""
    return doc.title, doc.date, doc.date_source


def _keep_given_date(doc: LoadedDocument, stored: Sequence[DocumentInfo]) -> LoadedDocument:
    """`doc` with the date the user gave for its source earlier, unless one is given now.

    A given date is the user's word: ingesting the folder again without `--date` (or a changed
    version of the file) must not replace it with a dateline or lose it.
    """
    if doc.date_source == "given":
        return doc
    earlier = next((info for info in stored if info.date_source == "given"), None)
    return replace(doc, date=earlier.date, date_source="given") if earlier else doc


class Ingestor:
    """Adds, updates and skips reports so that the store mirrors the files given."""

    def __init__(
        self,
        store: Store,
        keyword: KeywordIndex,
        documents: KeywordIndex,
        embedder: Embedder,
        policy: ChunkingPolicy = ChunkingPolicy(),
        max_file_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.keyword = keyword  # BM25 over chunks
        self.documents = documents  # BM25 over whole reports
        self.embedder = embedder
        self.policy = policy
        self.max_file_bytes = max_file_bytes
        self._written: set[str] = set()  # ids of the reports this run has stored

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: bool | None = None,
        source_of: Callable[[Path], str] | None = None,
        date: str | None = None,
    ) -> IngestReport:
        """Index files and folders (recursively). A bad file is reported and skipped.

        `source_of` names each file's `source` (default: its absolute path). `date` (YYYY-MM-DD)
        is the publication date the user gives every file of this call (a sidecar's beats it).
        While one group of files is embedded, a worker thread loads and chunks the next one.
        """
        files, problems = discover(paths)
        report = IngestReport(failed=[{"path": p, "error": why} for p, why in problems])
        before, before_documents = store_stamps(self.store, (CHUNKS, DOCUMENTS))
        if self.keyword.stamp != before:
            # The store changed since this process last saw it (another process, or an ingest
            # that was interrupted): look for leftovers. Skipped otherwise: at 100,000 chunks
            # reading every record costs seconds.
            if repair(self.store):
                before, before_documents = store_stamps(self.store, (CHUNKS, DOCUMENTS))
        writes_before = self.store.own_changes()
        self._written = set()
        added: list[StoredChunk] = []
        added_documents: list[StoredChunk] = []
        removed: dict[str, int] = {}
        show = sys.stderr.isatty() if progress is None else progress
        from tqdm import tqdm

        bar = tqdm(total=len(files), unit="file", disable=not show, file=sys.stderr)
        name = source_of or (lambda p: str(p.resolve()))
        groups = [files[i : i + GROUP_SIZE] for i in range(0, len(files), GROUP_SIZE)]
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-plan")
        try:
            pending = pool.submit(self._plan_group, groups[0], [name(p) for p in groups[0]], date) if groups else None
            for i, group in enumerate(groups):
                planned, outcome = pending.result()
                if i + 1 < len(groups):
                    nxt = groups[i + 1]
                    pending = pool.submit(self._plan_group, nxt, [name(p) for p in nxt], date)
                self._store_group(planned, outcome, report, added, added_documents, removed)
                bar.update(len(group))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            bar.close()
            update_keyword_indexes(self.store, (
                KeywordChange(self.keyword, CHUNKS, before, added, removed),
                KeywordChange(self.documents, DOCUMENTS, before_documents, added_documents,
                              dict.fromkeys(removed, 1)),
            ), self.store.own_changes() - writes_before)
        report.documents = self.store.count_documents()
        report.chunks = self.store.count_chunks()
        return report

    def _plan_group(
        self, files: Sequence[Path], sources: Sequence[str], date: str | None = None
    ) -> tuple[list[_Planned], dict[str, list]]:
        """Load and chunk a group (runs in the worker thread; reads the store, never writes).

        Besides the plans to embed, `outcome` holds "failed", "unchanged", "stale" (doc_id, chunks)
        and "restamp": records of unchanged reports whose date (or title) changed, with the new facts.
        """
        planned: list[_Planned] = []
        outcome: dict[str, list] = {"failed": [], "unchanged": [], "stale": [], "restamp": []}
        for path, source in zip(files, sources):
            try:
                doc = load_file(path, source=source, max_bytes=self.max_file_bytes, date=date)
            except (DocumentError, UnsupportedFileError) as exc:
                reason = exc.reason if isinstance(exc, DocumentError) else str(exc)
                outcome["failed"].append({"path": source, "error": reason})
                continue
            existing = self.store.documents_by_source(source)
            doc = _keep_given_date(doc, [info for info, _ in existing])
            current = [info for info, digest in existing if digest == doc.content_hash]
            stale = [(info.doc_id, info.chunks) for info, digest in existing if digest != doc.content_hash]
            if current and self.policy.title and current[0].title != doc.title:
                # The title is embedded with the chunks: a new one (a sidecar's) means embedding again.
                stale.append((doc.doc_id, current[0].chunks))
            elif current or (not existing and self._stored(doc.doc_id)):
                outcome["stale"].extend(stale)  # left by an update that was interrupted
                if current and _facts(current[0]) != _facts(doc):
                    info = replace(current[0], title=doc.title, date=doc.date, date_source=doc.date_source)
                    outcome["restamp"].append((info, doc))
                else:
                    outcome["unchanged"].append(source)
                continue
            chunks = self._chunk(doc)
            planned.append(_Planned(doc, chunks, [self._embed_text(doc, c) for c in chunks],
                                    [doc_id for doc_id, _ in stale if doc_id != doc.doc_id], dict(stale)))
        return planned, outcome

    def _store_group(
        self, planned: list[_Planned], outcome: dict[str, list], report: IngestReport,
        added: list[StoredChunk], added_documents: list[StoredChunk], removed: dict[str, int],
    ) -> None:
        report.failed.extend(outcome["failed"])
        report.unchanged.extend(outcome["unchanged"])
        for doc_id, chunks in outcome["stale"]:
            self.store.delete_document(doc_id)
            removed[doc_id] = chunks
        for info, doc in outcome["restamp"]:
            # Same text, new date: the stored vectors still hold, only the facts are rewritten.
            added.extend(self.store.restamp_document(info, doc.text, doc.content_hash))
            added_documents.append(whole_document(info, doc.text))
            removed[info.doc_id] = info.chunks
            report.updated.append(doc.source)
        # The same content under two names within one run: the first one wins, as when sequential.
        fresh = []
        for plan in planned:
            if plan.doc.doc_id in self._written and not plan.replaced_chunks:
                report.unchanged.append(plan.doc.source)
            else:
                fresh.append(plan)
                self._written.add(plan.doc.doc_id)
        if not fresh:
            return
        vectors = self.embedder.embed_passages([t for p in fresh for t in p.embed_texts])
        batch = []
        offset = 0
        for plan in fresh:
            doc, n = plan.doc, len(plan.chunks)
            info = DocumentInfo(
                doc_id=doc.doc_id, title=doc.title, source=doc.source, date=doc.date,
                date_source=doc.date_source, chunks=n, chars=len(doc.text),
            )
            rows = [(f"{doc.doc_id}:{c.index}", c.start, c.end, c.text) for c in plan.chunks]
            batch.append((info, rows, vectors[offset : offset + n], doc.text, doc.content_hash))
            offset += n
            added.extend(stored_chunks(info, rows))
            added_documents.append(whole_document(info, doc.text))
        # Chunks first, the reports' records last: a record means "completely indexed".
        self.store.add_documents(batch)
        for plan in fresh:
            for old in plan.replaces:
                self.store.delete_document(old)
            removed.update(plan.replaced_chunks)
            (report.updated if plan.replaced_chunks else report.added).append(plan.doc.source)

    def _stored(self, doc_id: str) -> bool:
        """Whether a report of this content is stored already, or by this run (the same text
        under another name: the first one wins). A lookup, not a listing of every id: at
        250,000 reports a listing took 1.2 s."""
        return doc_id in self._written or bool(self.store.existing([doc_id]))

    def _chunk(self, doc: LoadedDocument) -> list[Chunk]:
        title_tokens = min(self.embedder.count_tokens([doc.title])[0], TITLE_MAX_TOKENS)
        room = MODEL_WINDOW - SPECIAL_TOKENS - (title_tokens + 1 if self.policy.title else 0)
        policy = replace(self.policy, max_tokens=min(self.policy.max_tokens, room))
        return chunk_text(doc.text, self.embedder.count_tokens, self.embedder.split_by_tokens, policy)

    def _embed_text(self, doc: LoadedDocument, chunk: Chunk) -> str:
        return embedded_text(doc.title, chunk.text) if self.policy.title else chunk.text

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report from the store and both keyword indexes."""
        info = self.store.document(doc_id)
        before, before_documents = store_stamps(self.store, (CHUNKS, DOCUMENTS))
        _rebuild_if_stale(self.store, self.keyword, CHUNKS, before)
        _rebuild_if_stale(self.store, self.documents, DOCUMENTS, before_documents)
        writes_before = self.store.own_changes()
        self.store.delete_document(doc_id)
        update_keyword_indexes(self.store, (
            KeywordChange(self.keyword, CHUNKS, before, [], {doc_id: info.chunks}),
            KeywordChange(self.documents, DOCUMENTS, before_documents, [], {doc_id: 1}),
        ), self.store.own_changes() - writes_before)
        return info
