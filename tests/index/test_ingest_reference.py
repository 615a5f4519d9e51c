"""Speed work on ingestion must not change what is stored: the chunks and vectors of a few
reports equal those the code before it stored (tests/index/data, written by commit 0112a6e
with the reports below; the same model, int8 passages)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from bench.corpus import write_corpus
from tests.conftest import SAMPLE_REPORT

DATA = Path(__file__).with_name("data")


def _reports(folder: Path) -> Path:
    """The seed report, four generated ones, and one whose only sentence is longer than the window."""
    folder.mkdir()
    shutil.copy(SAMPLE_REPORT, folder / SAMPLE_REPORT.name)
    write_corpus(folder, 4)
    words = " ".join(f"word{i}" for i in range(700))
    (folder / "long-sentence.txt").write_text(f"A report with one long sentence\n\n{words}.\n")
    return folder


def test_chunks_and_vectors_are_those_stored_before(assistant, tmp_path: Path) -> None:
    report = assistant.ingest([_reports(tmp_path / "reports")], progress=False)
    assert not report.failed
    spans: dict[str, list[list[int]]] = json.loads((DATA / "ingest_reference.json").read_text())
    expected = np.load(DATA / "ingest_reference_vectors.npy")
    store = assistant.index._store
    chunks = list(store.iter_chunks())
    got_spans: dict[str, list[list[int]]] = {}
    ids: list[str] = []
    for info in sorted(store.documents(), key=lambda d: Path(d.source).name):
        rows = sorted((c for c in chunks if c.doc_id == info.doc_id), key=lambda c: c.start)
        got_spans[Path(info.source).name] = [[c.start, c.end] for c in rows]
        ids.extend(c.chunk_id for c in rows)
    assert got_spans == spans
    stored = store.chunk_embeddings(ids)
    vectors = np.array([stored[i] for i in ids], dtype=np.float32)
    # Identical on the machine that wrote them; the bound allows another CPU's rounding, and
    # fails on any change of the text embedded, its tokens or their padding (0.004 and more).
    assert vectors.shape == expected.shape
    assert float(np.abs(vectors - expected).max()) < 1e-4
