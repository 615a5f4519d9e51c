"""Ingest in bounded batches, over the fakes: a report spread over several batches is stored
exactly as in one, is listed as being indexed meanwhile, reports its progress, and an ingest
that fails half-way leaves nothing half-indexed once the next one has run."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

import index.ingest
import index.progress
from assistant.config import Settings
from assistant.core import Assistant
from index.common.types import IndexingInfo
from index.progress import IngestProgress, ProgressDisplay
from tests.fakes import fake_assistant

pytestmark = pytest.mark.fast

LINES = [f"Ferry {i} carried {i * 7 % 1000} passengers from Port {i % 97} to Halford on day {i}."
         for i in range(400)]


def _assistant(home: Path) -> Assistant:
    settings = Settings.load({"home": home}, environ={})
    return fake_assistant(settings)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "ferries.txt").write_text("Ferry traffic report.\n" + "\n".join(LINES) + "\n")
    (folder / "harbor.txt").write_text("Harbor report. The harbor master of Port Vale is Ada Okafor.\n")
    return folder


def _index(assistant: Assistant) -> tuple:
    store = assistant.index._store
    chunks = sorted((c.chunk_id, c.start, c.end, c.text) for c in store.iter_chunks())
    vectors = store.chunk_embeddings([c[0] for c in chunks])
    return (store.documents(), chunks, [vectors[c[0]].tolist() for c in chunks],
            [assistant.index._keyword.search(q, 5) for q in ("Halford passengers", "harbor master")],
            [assistant.index._document_keyword.search(q, 5) for q in ("Halford passengers", "harbor master")])


def test_a_report_over_many_batches_is_stored_as_in_one(tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    whole = _assistant(tmp_path / "whole")
    whole.ingest([folder], progress=False)

    monkeypatch.setattr(index.ingest, "BATCH_CHUNKS", 7)
    monkeypatch.setattr(index.ingest, "KEYWORD_FLUSH_CHARS", 3000)  # keyword updates mid-report
    batched = _assistant(tmp_path / "batched")
    seen: list[tuple[IngestProgress, list]] = []
    report = batched.ingest([folder], progress=False,
                            on_progress=lambda p: seen.append((p, batched.indexing())))

    assert sorted(map(Path, report.added)) == sorted(folder.iterdir()) and not report.failed
    assert _index(batched) == _index(whole)
    ferries = next(d for d in batched.documents() if d.source.endswith("ferries.txt"))
    assert ferries.chunks > 3 * 7
    # While it was written it was listed as being indexed, further each time; never after.
    during = [(p, listed) for p, listed in seen if p.current is not None]
    assert len(during) >= 3
    assert all([d.doc_id for d in listed] == [ferries.doc_id] for _, listed in during)
    done = [listed[0].indexed_chars for _, listed in during]
    assert done == sorted(done) and 0 < done[0] and done[-1] < ferries.chars
    assert batched.indexing() == [] and batched.index._store.marked[0][0].indexed_chars == 0
    chunks = [p.chunks for p, _ in seen]
    assert chunks == sorted(chunks) and seen[-1][0] == IngestProgress(2, 2, batched.health()["chunks"])


@pytest.mark.parametrize("batch", [1, 2, 3])
def test_reports_starting_on_a_batch_boundary_are_stored_as_in_one(tmp_path: Path, monkeypatch,
                                                                   batch: int) -> None:
    folder = tmp_path / "short"
    folder.mkdir()
    for i in range(7):  # one chunk each: every report but the first starts a full batch
        (folder / f"r{i}.txt").write_text(f"Report {i}.\n{LINES[i]}\n")
    whole = _assistant(tmp_path / "whole")
    whole.ingest([folder], progress=False)

    monkeypatch.setattr(index.ingest, "BATCH_CHUNKS", batch)
    batched = _assistant(tmp_path / "batched")
    report = batched.ingest([folder], progress=False)

    assert len(report.added) == 7 and not report.failed
    assert _index(batched) == _index(whole)


def test_an_ingest_failing_mid_report_is_repaired_by_the_next(tmp_path: Path, monkeypatch) -> None:
    folder = _folder(tmp_path)
    clean = _assistant(tmp_path / "clean")
    clean.ingest([folder], progress=False)

    monkeypatch.setattr(index.ingest, "BATCH_CHUNKS", 7)
    assistant = _assistant(tmp_path / "failed")
    real_write = assistant.index._store.write_batch
    writes = 0

    def failing_write(*args, **kwargs) -> None:
        nonlocal writes
        writes += 1
        if writes == 4:
            raise OSError("disk full")
        real_write(*args, **kwargs)

    monkeypatch.setattr(assistant.index._store, "write_batch", failing_write)
    with pytest.raises(OSError):
        assistant.ingest([folder], progress=False)
    # No half-indexed report: the one cut off (the first file) has chunks but no record, and
    # its marker reads as a dead run's.
    assert assistant.documents() == [] and assistant.index._store.count_chunks() > 0
    assert assistant.indexing() == [] and assistant.index._store.interrupted()

    monkeypatch.setattr(assistant.index._store, "write_batch", real_write)
    again = assistant.ingest([folder], progress=False)
    assert sorted(Path(p).name for p in again.added) == ["ferries.txt", "harbor.txt"]
    assert not assistant.index._store.interrupted()
    assert _index(assistant) == _index(clean)


def test_progress_on_a_pipe_is_a_line_now_and_then(monkeypatch) -> None:
    out = io.StringIO()
    display = ProgressDisplay(3, out)
    display(IngestProgress(0, 3, 512))
    assert out.getvalue() == ""  # a short ingest prints nothing
    monkeypatch.setattr(index.progress, "PLAIN_EVERY_S", 0.0)
    big = IndexingInfo("d1", "Jack", "/in/jack.txt", None, chunks=1024, chars=4000, indexed_chars=1000)
    display(IngestProgress(1, 3, 1536, big))
    display(IngestProgress(3, 3, 60_609))
    display.close()
    assert out.getvalue().splitlines() == [
        "ingest: 1/3 files, 1,536 chunks; jack.txt 25%",
        "ingest: 3/3 files, 60,609 chunks",
    ]
    assert IngestProgress(1, 3, 1536, big).fraction() == pytest.approx(1.25 / 3)


def test_identical_texts_are_embedded_once() -> None:
    from index.embedding import Embedder

    calls: list[list[str]] = []

    class Backend:
        def encode(self, batches, threads):
            for batch in batches:
                calls.append(list(batch.texts))
                yield np.array([[len(t), 1.0] for t in batch.texts], dtype=np.float32)

    embedder = Embedder.__new__(Embedder)  # the model is not needed: only `_embed`'s bookkeeping
    embedder.dimension, embedder.batch_size, embedder.threads, embedder.precision = 2, 128, 1, "fp32"
    embedder._window_ids = lambda texts: [t.split() for t in texts]
    vectors = embedder._embed(["a b", "c", "a b", "a b", "c"], Backend())
    assert sorted(t for batch in calls for t in batch) == ["a b", "c"]
    assert vectors[:, 0].tolist() == [3, 1, 3, 3, 1]
