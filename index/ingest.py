"""Incremental ingestion: load -> chunk -> embed -> store, then bring the keyword indexes in step.

Chunks flow through in batches of `BATCH_CHUNKS`: a worker thread loads and chunks the files in
order and hands over batches, at most `PLAN_AHEAD` ahead, while the main thread embeds and
stores them. Memory holds a batch, not a file's chunks, so a single-line report of tens of
megabytes does not take gigabytes (docs/benchmarks.md: Reliability and security). A report
spread over several batches is marked as being indexed meanwhile (see index/store.py), and its
record is written with its last batch.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Generator, Iterable, Iterator, Sequence, TypeVar

import numpy as np

from index.chunking import Chunk, ChunkingPolicy, iter_chunks
from index.common.errors import DocumentError, UnsupportedFileError
from index.common.types import DocumentInfo, IndexingInfo, IngestReport
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS, Embedder
from index.heap import return_large_blocks
from index.keyword import KeywordIndex
from index.keyword.sync import (
    CHUNKS,
    DOCUMENTS,
    KeywordChange,
    rebuild_if_stale,
    store_stamps,
    update_keyword_indexes,
)
from index.loaders import LoadedDocument, discover, load_file
from index.progress import IngestProgress, ProgressDisplay
from index.records import StoredChunk
from index.store import ChunkPart, ChunkRows, Record, Store, stored_chunks, whole_document

BATCH_CHUNKS = 512  # chunks embedded and written together
BATCH_FILES = 32  # files started in one batch at most (a batch holds their texts)
PLAN_AHEAD = 2  # batches the worker thread may have ready before they are stored
# Text stored (chunks and whole reports) before the keyword indexes are brought in step: what
# they tokenize at once, so memory holds this much and not a whole run's or a whole report's.
KEYWORD_FLUSH_CHARS = 16_000_000
TITLE_MAX_TOKENS = 48
T = TypeVar("T")
# A report already embedded elsewhere: its record, chunk rows, their vectors, text and content hash.
EmbeddedReport = tuple[DocumentInfo, ChunkRows, np.ndarray, str, str]


@dataclass(frozen=True)
class _Planned:
    doc: LoadedDocument
    replaces: list[str]  # doc_ids of older versions of the same source
    # Chunk counts of what this replaces: those versions, and its own id when it is embedded
    # again because its title changed (a sidecar's). Empty for a new report.
    replaced_chunks: dict[str, int]


@dataclass
class _Part:
    """Consecutive chunks of one report within a batch, with the texts to embed for them."""

    plan: _Planned
    first: bool  # holds the report's first chunk
    chunks: list[Chunk] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    last: bool = False  # holds its last chunk


@dataclass
class _Outcomes:
    """What became of the files of a batch that need no embedding."""

    failed: list[dict[str, str]] = field(default_factory=list)  # {"path", "error"}
    unchanged: list[str] = field(default_factory=list)  # sources
    twins: list[tuple[str, str]] = field(default_factory=list)  # source, doc_id of the stored report it copies
    stale: list[tuple[str, int]] = field(default_factory=list)  # doc_id, chunks: records to remove
    # Unchanged reports whose date or title changed: the new facts, and the file as loaded.
    restamp: list[tuple[DocumentInfo, LoadedDocument]] = field(default_factory=list)

    def files(self) -> int:
        """How many files these outcomes finish."""
        return len(self.failed) + len(self.unchanged) + len(self.twins) + len(self.restamp)


@dataclass
class _Batch:
    """What the worker thread hands over: the outcomes of files that need no embedding, then up
    to `BATCH_CHUNKS` chunks of reports to embed."""

    outcome: _Outcomes = field(default_factory=_Outcomes)
    parts: list[_Part] = field(default_factory=list)
    files: int = 0  # files it starts
    chunks: int = 0

    def add(self, part: _Part, chunk: Chunk, text: str) -> None:
        if not self.parts or self.parts[-1] is not part:
            self.parts.append(part)
        part.chunks.append(chunk)
        part.texts.append(text)
        self.chunks += 1


@dataclass
class _Open:
    """A report being written: its facts with the chunks so far, how far into its text they
    reach, and the sum of their vectors (its record's vector is their mean)."""

    plan: _Planned
    info: DocumentInfo
    indexed_chars: int = 0
    vector_sum: np.ndarray | None = None
    marked: bool = False  # has a marker in the store (spread over batches)
    skip: bool = False  # the same content under another name was stored first in this run

    def took(self, chunks: Sequence[Chunk], vectors: np.ndarray) -> tuple[DocumentInfo, ChunkRows]:
        """Count in a part's chunks; returns the facts as of them and their rows to store."""
        if chunks:
            self.info = replace(self.info, chunks=self.info.chunks + len(chunks))
            self.indexed_chars = chunks[-1].end
            total = vectors.sum(axis=0)
            self.vector_sum = total if self.vector_sum is None else self.vector_sum + total
        return self.info, [(f"{self.info.doc_id}:{c.index}", c.start, c.end, c.text) for c in chunks]

    def mean(self) -> np.ndarray:
        """The mean of its chunk vectors (for a single batch exactly `vectors.mean(axis=0)`)."""
        return self.vector_sum / max(self.info.chunks, 1)


@dataclass(frozen=True)
class _Prepared:
    """A batch with its outcomes applied and its reports opened: the parts to embed and write,
    and the report it leaves open for the next batch, if any."""

    writing: list[tuple[_Part, _Open]]
    spanning: _Open | None

    @property
    def texts(self) -> list[str]:
        """What is embedded for its chunks, in order."""
        return [text for part, _ in self.writing for text in part.texts]


@dataclass
class _Run:
    """How far an ingest got: files done of `files`, chunks stored, and the report it is in the
    middle of, if it spans batches."""

    files: int
    files_done: int = 0
    chunks: int = 0
    open: _Open | None = None
    # Reports whose markers are written and whose records are not yet: given up on an error.
    marked: list[_Open] = field(default_factory=list)

    def current(self) -> IndexingInfo:
        """The open report as its marker shows it."""
        assert self.open is not None
        return IndexingInfo.of(self.open.info, self.open.indexed_chars)

    def progress(self) -> IngestProgress:
        """The numbers to show."""
        shown = self.open is not None and not self.open.skip
        return IngestProgress(self.files_done, self.files, self.chunks, self.current() if shown else None)


def _ahead(items: Iterator[T], depth: int) -> Generator[T, None, None]:
    """`items`, computed by a worker thread up to `depth` ahead of the caller. An exception
    there is raised here; when the caller stops early the worker stops at its next item."""
    ready: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put((False, item)):
                    return
            put((True, None))
        except BaseException as exc:  # handed to the caller, whatever it is
            put((True, exc))

    worker = threading.Thread(target=work, name="ingest-plan", daemon=True)
    worker.start()
    try:
        while True:
            finished, value = ready.get()
            if finished:
                if isinstance(value, BaseException):
                    raise value
                return
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()


def embedded_text(title: str, text: str) -> str:
    """What is embedded for a chunk of a report titled `title`: the title gives every chunk its
    story's context, in front of the chunk unless it already holds it (the first usually does)."""
    return text if title.rstrip("…") in text else f"{title}\n{text}"


def repair(store: Store) -> int:
    """Remove what an interrupted ingest left behind; cheap when nothing was interrupted."""
    expected = sum(d.chunks for d in store.documents())
    if expected == store.count_chunks() and not store.interrupted():
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


class _KeywordPending:
    """What a run stored since the keyword indexes were last brought in step with the store:
    chunks and whole reports added, chunk counts and reports removed, from the store's stamps
    and this process's write count at the start."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.before, self.before_documents = store_stamps(store, (CHUNKS, DOCUMENTS))
        self.writes = store.own_changes()
        self.added: list[StoredChunk] = []
        self.added_documents: list[StoredChunk] = []
        self.removed: dict[str, int] = {}
        self.removed_documents: set[str] = set()
        self.chars = 0

    def add(self, chunks: Sequence[StoredChunk], document: StoredChunk | None = None) -> None:
        self.added.extend(chunks)
        self.chars += sum(len(c.text) for c in chunks)
        if document is not None:
            self.added_documents.append(document)
            self.chars += len(document.text)

    def remove(self, doc_id: str, chunks: int, record: bool = True) -> None:
        """A report's `chunks` removed, and its record unless `record` is False (a report
        embedded again keeps its record until the new one replaces it)."""
        self.removed[doc_id] = chunks
        if record:
            self.removed_documents.add(doc_id)

    def apply(self, keyword: KeywordIndex, documents: KeywordIndex) -> None:
        """Update both indexes (see `update_keyword_indexes`)."""
        update_keyword_indexes(self.store, (
            KeywordChange(keyword, CHUNKS, self.before, self.added, self.removed),
            KeywordChange(documents, DOCUMENTS, self.before_documents, self.added_documents,
                          dict.fromkeys(self.removed_documents, 1)),
        ), self.store.own_changes() - self.writes)


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
        self._began_empty = False  # the store held no report when this run began
        return_large_blocks()  # folds' arrays given back to the system, not kept in the heap

    def ingest(
        self,
        paths: Iterable[str | Path],
        progress: bool | None = None,
        source_of: Callable[[Path], str] | None = None,
        date: str | None = None,
        on_progress: Callable[[IngestProgress], None] | None = None,
    ) -> IngestReport:
        """Index files and folders (recursively). A bad file is reported and skipped.

        `source_of` names each file's `source` (default: its absolute path). `date` (YYYY-MM-DD)
        is the publication date the user gives every file of this call (a sidecar's beats it).
        `progress` shows progress on stderr (`ProgressDisplay`; None: on a terminal only);
        `on_progress` is called after every batch and file.
        """
        files, problems = discover(paths)
        report = IngestReport(failed=[{"path": p, "error": why} for p, why in problems])
        if self.keyword.stamp != store_stamps(self.store, (CHUNKS,))[0] or self.store.interrupted():
            # The store changed since this process last saw it (another process, or an ingest
            # that was interrupted): look for leftovers. Skipped otherwise: in a large store
            # reading every record costs seconds.
            repair(self.store)
        self._written = set()
        self._began_empty = self.store.count_documents() == 0
        pending = _KeywordPending(self.store)
        show = sys.stderr.isatty() if progress is None else progress
        display = ProgressDisplay(len(files)) if show else None
        observers = [o for o in (display, on_progress) if o is not None]
        name = source_of or (lambda p: str(p.resolve()))
        run = _Run(files=len(files))
        batches = _ahead(self._plan(files, [name(p) for p in files], date), PLAN_AHEAD)
        if self._began_empty and files:
            # Everything will be embedded: load the model while the first files are read.
            self.embedder.prepare_passages()
        # A batch is embedded by a helper thread while the one before it is written, so the
        # writes, the keyword bookkeeping and the next batch's preparation run beside the model
        # rather than between its batches. Every change of the store and of this run's state
        # stays on this thread, in the batches' order.
        embedding = ThreadPoolExecutor(1, thread_name_prefix="ingest-embed")
        waiting: tuple[_Prepared, Future[np.ndarray]] | None = None
        try:
            for batch in batches:
                prepared = self._prepare(batch, report, pending, run)
                future = embedding.submit(self.embedder.embed_passages, prepared.texts)
                if waiting is not None:
                    pending = self._write_and_tell(*waiting, report, pending, run, observers)
                waiting = prepared, future
            if waiting is not None:
                pending = self._write_and_tell(*waiting, report, pending, run, observers)
        finally:
            embedding.shutdown(wait=True, cancel_futures=True)
            batches.close()  # stops the worker thread
            if display is not None:
                display.close()
            for open_ in run.marked:
                # Given up: its marker now reads as a dead run's, whose chunks the next ingest removes.
                self.store.mark_indexing(IndexingInfo.of(open_.info, open_.indexed_chars), alive=False)
            pending.apply(self.keyword, self.documents)
            self._record_aliases(report)
        report.documents = self.store.count_documents()
        report.chunks = self.store.count_chunks()
        return report

    def _plan(self, files: Sequence[Path], sources: Sequence[str], date: str | None) -> Iterator[_Batch]:
        """Load and chunk the files in order, in batches of up to `BATCH_CHUNKS` chunks (runs in
        the worker thread; reads the store, never writes)."""
        batch = _Batch()
        for path, source, existing in self._with_stored(files, sources):
            if batch.files >= BATCH_FILES:
                yield batch
                batch = _Batch()
            batch.files += 1
            plan = self._plan_file(path, source, date, existing, batch.outcome)
            if plan is None:
                continue
            part = _Part(plan, first=True)
            for chunk in self._chunk(plan.doc):
                if batch.chunks >= BATCH_CHUNKS:
                    yield batch
                    # A report whose first chunk did not fit starts in the next batch.
                    batch, part = _Batch(), _Part(plan, first=not part.chunks)
                batch.add(part, chunk, self._embed_text(plan.doc, chunk))
            part.last = True  # in `batch`: every report has a chunk (a blank text fails to load)
        yield batch

    def _with_stored(
        self, files: Sequence[Path], sources: Sequence[str]
    ) -> Iterator[tuple[Path, str, list[tuple[DocumentInfo, str]]]]:
        """Each file and source with the records stored for that source, read for `BATCH_FILES`
        files at once rather than one read a file."""
        for at in range(0, len(files), BATCH_FILES):
            group = sources[at : at + BATCH_FILES]
            stored = self.store.documents_by_sources(group)
            for path, source in zip(files[at : at + BATCH_FILES], group):
                yield path, source, stored.get(source, [])

    def _plan_file(
        self, path: Path, source: str, date: str | None, existing: Sequence[tuple[DocumentInfo, str]],
        outcome: _Outcomes,
    ) -> _Planned | None:
        """Load one file and decide what to do with it, given the records stored for its source:
        a plan to embed it, or None with its outcome recorded."""
        try:
            doc = load_file(path, source=source, max_bytes=self.max_file_bytes, date=date)
        except (DocumentError, UnsupportedFileError) as exc:
            reason = exc.reason if isinstance(exc, DocumentError) else str(exc)
            outcome.failed.append({"path": source, "error": reason})
            return None
        doc = _keep_given_date(doc, [info for info, _ in existing])
        current = [info for info, digest in existing if digest == doc.content_hash]
        stale = [(info.doc_id, info.chunks) for info, digest in existing if digest != doc.content_hash]
        if current and self.policy.title and current[0].title != doc.title:
            # The title is embedded with the chunks: a new one (a sidecar's) means embedding again.
            stale.append((doc.doc_id, current[0].chunks))
        elif not current and self._stored(doc.doc_id):
            # The same text is stored under another name: this file is recorded as its alias
            # (and what it held before, if anything, goes).
            outcome.stale.extend(stale)
            outcome.twins.append((source, doc.doc_id))
            return None
        elif current:
            outcome.stale.extend(stale)  # left by an update that was interrupted
            if _facts(current[0]) != _facts(doc):
                info = replace(current[0], title=doc.title, date=doc.date, date_source=doc.date_source)
                outcome.restamp.append((info, doc))
            else:
                outcome.unchanged.append(source)
            return None
        return _Planned(doc, [doc_id for doc_id, _ in stale if doc_id != doc.doc_id], dict(stale))

    def _write_and_tell(
        self, prepared: _Prepared, embedded: Future[np.ndarray], report: IngestReport,
        pending: _KeywordPending, run: _Run, observers: Sequence[Callable[[IngestProgress], None]],
    ) -> _KeywordPending:
        """Write a prepared batch once embedded, bring the keyword indexes in step when enough
        text waits, and tell the observers; the keyword changes still pending."""
        self._write(prepared, embedded.result(), report, pending, run)
        if pending.chars >= KEYWORD_FLUSH_CHARS:
            pending.apply(self.keyword, self.documents)
            pending = _KeywordPending(self.store)
        for observe in observers:
            observe(run.progress())
        return pending

    def _prepare(self, batch: _Batch, report: IngestReport, pending: _KeywordPending, run: _Run) -> _Prepared:
        """Apply a batch's outcomes and open the reports of its chunks: what is left to embed
        and write."""
        outcome = batch.outcome
        report.failed.extend(outcome.failed)
        report.unchanged.extend(outcome.unchanged)
        report.duplicates.extend({"path": source, "of": doc_id} for source, doc_id in outcome.twins)
        run.files_done += outcome.files()
        for doc_id, chunks in outcome.stale:
            self.store.delete_document(doc_id)
            pending.remove(doc_id, chunks)
        for info, doc in outcome.restamp:
            # Same text, new date: the stored vectors still hold, only the facts are rewritten.
            pending.remove(info.doc_id, info.chunks)
            pending.add(self.store.restamp_document(info, doc.text, doc.content_hash),
                        whole_document(info, doc.text))
            report.updated.append(doc.source)
        writing: list[tuple[_Part, _Open]] = []
        for part in batch.parts:
            open_ = self._open(part, run, pending)
            if part.last:
                run.open = None
                run.files_done += 1
            if not open_.skip:
                writing.append((part, open_))
            elif part.last:
                report.duplicates.append({"path": part.plan.doc.source, "of": part.plan.doc.doc_id})
        return _Prepared(writing, run.open)

    def _write(self, prepared: _Prepared, vectors: np.ndarray, report: IngestReport,
               pending: _KeywordPending, run: _Run) -> None:
        """Write a prepared batch's chunks, with the records of the reports it completes, in one
        write."""
        writing, spanning = prepared.writing, prepared.spanning
        if not writing:
            return
        parts: list[ChunkPart] = []
        records: list[Record] = []
        finished: list[tuple[_Planned, DocumentInfo]] = []
        offset = 0
        for part, open_ in writing:
            part_vectors = vectors[offset : offset + len(part.chunks)]
            offset += len(part.chunks)
            info, rows = open_.took(part.chunks, part_vectors)
            parts.append((info, rows, part_vectors))
            pending.add(stored_chunks(info, rows))
            run.chunks += len(rows)
            if part.last:
                records.append((info, part.plan.doc.text, part.plan.doc.content_hash, open_.mean()))
                finished.append((part.plan, info))
        if spanning is not None and not spanning.marked and not spanning.skip:
            # A report spread over batches is marked before its first chunks are written.
            self.store.mark_indexing(IndexingInfo.of(spanning.info, 0))
            spanning.marked = True
            run.marked.append(spanning)
        self.store.write_batch(parts, records, [part.plan.doc.doc_id for part, _ in writing if part.first])
        run.marked = [open_ for open_ in run.marked if open_ is spanning]  # the others' records are written
        for plan, info in finished:
            pending.add([], whole_document(info, plan.doc.text))
            if plan.doc.doc_id in plan.replaced_chunks:
                pending.removed_documents.add(plan.doc.doc_id)  # its record was just replaced
            for old in plan.replaces:
                self.store.delete_document(old)
                pending.remove(old, plan.replaced_chunks[old])
            (report.updated if plan.replaced_chunks else report.added).append(plan.doc.source)
        if spanning is not None and spanning.marked:
            self.store.mark_indexing(IndexingInfo.of(spanning.info, spanning.indexed_chars))  # alive

    def _open(self, part: _Part, run: _Run, pending: _KeywordPending) -> _Open:
        """The report a part belongs to, opened at its first part; a report continued in the
        next batch stays `run.open`. The same content under two names within one run: the first
        one wins, as when sequential."""
        if not part.first:
            assert run.open is not None and run.open.plan is part.plan
            return run.open
        doc = part.plan.doc
        open_ = _Open(part.plan, DocumentInfo(
            doc_id=doc.doc_id, title=doc.title, source=doc.source, date=doc.date,
            date_source=doc.date_source, chunks=0, chars=len(doc.text)))
        if doc.doc_id in self._written and not part.plan.replaced_chunks:
            open_.skip = True
        else:
            self._written.add(doc.doc_id)
            if doc.doc_id in part.plan.replaced_chunks:  # its old chunks go with its first write
                pending.remove(doc.doc_id, part.plan.replaced_chunks[doc.doc_id], record=False)
        if not part.last:
            run.open = open_
        return open_

    def _record_aliases(self, report: IngestReport) -> None:
        """Files indexed as reports of their own are no longer aliases; twins are (again)."""
        self.store.drop_aliases([*report.added, *report.updated])
        for twin in report.duplicates:
            self.store.add_alias(twin["path"], twin["of"])

    def _stored(self, doc_id: str) -> bool:
        """Whether a report of this content is stored already, or by this run (the same text
        under another name: the first one wins). A lookup, not a listing of every id, which in
        a large store costs a second or more; none in a store that was empty when the run began
        (a first ingest: a lookup a file was a tenth of its time beside the embedding)."""
        return doc_id in self._written or (not self._began_empty and bool(self.store.existing([doc_id])))

    def _chunk(self, doc: LoadedDocument) -> Iterator[Chunk]:
        title_tokens = min(self.embedder.count_tokens([doc.title])[0], TITLE_MAX_TOKENS)
        room = MODEL_WINDOW - SPECIAL_TOKENS - (title_tokens + 1 if self.policy.title else 0)
        policy = replace(self.policy, max_tokens=min(self.policy.max_tokens, room))
        return iter_chunks(doc.text, self.embedder.count_tokens, self.embedder.split_by_tokens, policy)

    def _embed_text(self, doc: LoadedDocument, chunk: Chunk) -> str:
        return embedded_text(doc.title, chunk.text) if self.policy.title else chunk.text

    def delete(self, doc_id: str) -> DocumentInfo:
        """Remove a report from the store and both keyword indexes."""
        info = self.store.document(doc_id)
        pending = _KeywordPending(self.store)
        rebuild_if_stale(self.store, self.keyword, CHUNKS, pending.before)
        rebuild_if_stale(self.store, self.documents, DOCUMENTS, pending.before_documents)
        self.store.delete_document(doc_id)
        pending.remove(doc_id, info.chunks)
        pending.apply(self.keyword, self.documents)
        return info

    def add_embedded(self, batches: Iterable[Sequence[EmbeddedReport]]) -> dict[str, float]:
        """Store reports embedded elsewhere (the scale benchmark's synthetic ones), a batch per
        write, then add them all to the keyword indexes from their rows in one update, without
        reading the store back. The seconds spent writing and updating."""
        pending = _KeywordPending(self.store)
        started = time.perf_counter()
        for batch in batches:
            self.store.add_documents(batch)
            for info, rows, _, text, _ in batch:
                pending.add(stored_chunks(info, rows), whole_document(info, text))
        written = time.perf_counter()
        pending.apply(self.keyword, self.documents)
        return {"write_s": written - started, "keyword_update_s": time.perf_counter() - written}
