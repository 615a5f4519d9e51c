"""Incremental ingestion into the real embedded Chroma, with the keyword index in step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from index.common.errors import InputError
from index.keyword import KeywordIndex, Stamp
from index.records import ChunkFilter
from tests.conftest import SAMPLE_REPORT


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_a_copy_under_another_name_is_indexed_as_an_alias(assistant, tmp_path: Path) -> None:
    """A file whose text equals an indexed report's is that report's alias: ingest says which
    report it copies, `docs` lists it, and it stops being one when its text changes or the
    report goes."""
    reports = tmp_path / "reports"
    original = _write(reports, "a.txt", "Rockets hit the airbase near Baghdad on Monday.")
    copy = _write(reports / "copy", "a-again.txt", original.read_text())
    first = assistant.ingest([reports], progress=False)
    assert len(first.added) == 1 and first.documents == 1
    (twin,) = first.duplicates
    (info,) = assistant.documents()
    assert twin == {"path": str(copy if first.added == [str(original)] else original), "of": info.doc_id}
    assert info.aliases == (twin["path"],) and first.unchanged == []

    again = assistant.ingest([reports], progress=False)  # the same answer again, nothing written
    assert again.duplicates == [twin] and again.added == [] and again.documents == 1

    Path(twin["path"]).write_text("Drones were shot down over Anbar province.")
    third = assistant.ingest([reports], progress=False)
    assert third.added == [twin["path"]] and third.duplicates == []
    assert all(d.aliases == () for d in assistant.documents()) and third.documents == 2

    Path(twin["path"]).write_text(original.read_text())  # a copy again: its own report goes
    fourth = assistant.ingest([reports], progress=False)
    assert fourth.duplicates == [twin] and fourth.documents == 1
    assistant.delete(info.doc_id)  # the report goes, and its aliases with it
    assert assistant.documents() == []


def test_added_unchanged_updated(assistant, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    a = _write(reports, "a.txt", "Rockets hit the airbase near Baghdad on Monday.")
    _write(reports, "b.txt", "Drones were shot down over Anbar province.")
    first = assistant.ingest([reports], progress=False)
    assert sorted(Path(p).name for p in first.added) == ["a.txt", "b.txt"]
    assert first.documents == 2 and first.chunks == 2

    second = assistant.ingest([reports], progress=False)
    assert second.added == [] and second.updated == [] and len(second.unchanged) == 2

    a.write_text("Mortars, not rockets, hit the airbase near Baghdad on Monday.")
    third = assistant.ingest([reports], progress=False)
    assert [Path(p).name for p in third.updated] == ["a.txt"]
    assert third.documents == 2 and third.chunks == 2
    texts = [p.text for p in assistant.retrieve("what hit the airbase", k=5)]
    assert any("Mortars" in t for t in texts) and not any(t.startswith("Rockets") for t in texts)


def test_delete_removes_vectors_and_keywords(assistant, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _write(reports, "a.txt", "The zeppelin landed in Ulaanbaatar.")
    _write(reports, "b.txt", "Drones were shot down over Anbar province.")
    assistant.ingest([reports], progress=False)
    doomed = next(d for d in assistant.documents() if d.source.endswith("a.txt"))
    assistant.delete(doomed.doc_id)
    assert [d.source for d in assistant.documents()] == [str((reports / "b.txt").resolve())]
    assert assistant.index._keyword.search("zeppelin Ulaanbaatar", 5) == []
    assert assistant.index._document_keyword.search("zeppelin Ulaanbaatar", 5) == []
    assert [d for d, _ in assistant.index._document_keyword.search("drones Anbar", 5)] == [
        d.doc_id for d in assistant.documents()]
    assert all(p.doc_id != doomed.doc_id for p in assistant.retrieve("zeppelin Ulaanbaatar", k=5))
    assert assistant.health() == {"status": "ok", "documents": 1, "chunks": 1}


def test_bad_file_is_reported_and_others_still_indexed(assistant, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _write(reports, "good.txt", "A good report about the Balad airbase.")
    (reports / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    (reports / "empty.md").write_bytes(b"")
    report = assistant.ingest([reports], progress=False)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    failed = {Path(f["path"]).name: f["error"] for f in report.failed}
    assert set(failed) == {"bad.pdf", "empty.md"}
    assert "PDF" in failed["bad.pdf"] and "empty" in failed["empty.md"]
    assert report.documents == 1


def test_keyword_index_persists_and_follows_the_store(assistant, settings, tmp_path: Path) -> None:
    assistant.ingest([SAMPLE_REPORT], progress=False)
    reopened = KeywordIndex(settings.keyword_path)
    store = assistant.index._store
    assert reopened.stamp == Stamp(store.count_chunks(), store.changes())
    assert reopened.search("Katyusha rocket", 3)
    reports = KeywordIndex(settings.document_keyword_path)
    assert reports.stamp == Stamp(store.count_documents(), store.changes())
    assert [d for d, _ in reports.search("Katyusha rocket", 3)] == store.document_ids()


def test_interrupted_ingest_leftovers_are_repaired(assistant, tmp_path: Path) -> None:
    from index.common.types import DocumentInfo
    from index.store import chunk_nodes

    assistant.ingest([SAMPLE_REPORT], progress=False)
    # What a crash between writing chunks and writing the record leaves behind.
    ghost = DocumentInfo("ghost", "Ghost", "ghost.txt", None, 1, 10)
    vectors = np.ones((1, 384)) / 384**0.5
    assistant.index._store.vector_store.add(chunk_nodes(ghost, [("ghost:0", 0, 10, "ghost text")], vectors))
    assert assistant.index._store.count_chunks() == 4
    report = assistant.ingest([SAMPLE_REPORT], progress=False)
    assert report.chunks == 3 and report.unchanged
    assert assistant.index._keyword.search("ghost", 5) == []


def test_title_can_be_left_out_of_the_embedded_text(settings) -> None:
    """ChunkingPolicy(title=False) embeds a chunk's own text only (the default puts the
    report's title in front of chunks that lack it)."""
    from assistant.core import Assistant
    from index.chunking import ChunkingPolicy

    with_title = Assistant.open(settings, collection="titled")
    without = Assistant.open(settings, collection="plain", chunking=ChunkingPolicy(title=False))
    for assistant in (with_title, without):
        assistant.ingest([SAMPLE_REPORT], progress=False)
    # A chunk that does not hold the (possibly shortened, "…") title already.
    chunk = next(c for c in with_title.index._store.iter_chunks() if c.title.rstrip("…") not in c.text)
    plain = without.index.embedder.embed_passages([chunk.text])[0]
    titled = without.index.embedder.embed_passages([f"{chunk.title}\n{chunk.text}"])[0]
    stored_plain = without.index._store.chunk_embeddings([chunk.chunk_id])[chunk.chunk_id]
    stored_titled = with_title.index._store.chunk_embeddings([chunk.chunk_id])[chunk.chunk_id]
    assert float(stored_plain @ plain) > 0.999 and float(stored_titled @ titled) > 0.999
    assert float(stored_plain @ titled) < 0.999


def test_dates_given_found_and_changed_without_embedding_again(assistant, tmp_path: Path) -> None:
    import json

    reports = tmp_path / "reports"
    story = _write(reports, "story.txt", "Storm cuts power\nThe storm hit on March 3, 2023, in Dunmore.")
    _write(reports, "wire.txt", "Council meets\nDUNMORE, March 4, 2023 (AP) - The council met.")
    first = assistant.ingest([reports], progress=False)
    assert len(first.added) == 2 and not first.failed
    dates = {Path(d.source).name: (d.date, d.date_source) for d in assistant.documents()}
    assert dates == {"story.txt": (None, None), "wire.txt": ("2023-03-04", "dateline")}

    # A date given for an unchanged file updates its record and chunks, with the same vectors.
    doc_id = next(d.doc_id for d in assistant.documents() if d.source == str(story.resolve()))
    chunk_ids = [c.chunk_id for c in assistant.index._store.iter_chunks() if c.doc_id == doc_id]
    vectors = assistant.index._store.chunk_embeddings(chunk_ids)
    given = assistant.ingest([story], progress=False, date="2023-03-05")
    assert given.updated == [str(story.resolve())] and given.chunks == first.chunks
    info = assistant.index._store.document(doc_id)
    assert (info.date, info.date_source) == ("2023-03-05", "given")
    after = assistant.index._store.chunk_embeddings(chunk_ids)
    assert all(np.array_equal(vectors[c], after[c]) for c in chunk_ids)
    assert [p.date for p in assistant.retrieve("storm power Dunmore", k=5, doc_ids=[doc_id])] == ["2023-03-05"]
    assert assistant.retrieve("storm power Dunmore", k=5, date_to="2023-03-04", doc_ids=[doc_id]) == []
    assert assistant.index._keyword.search("storm power", 5, ChunkFilter(date_from="2023-03-05", doc_ids=(doc_id,)))

    # The given date stays when the folder is ingested again without one ...
    again = assistant.ingest([reports], progress=False)
    assert again.updated == [] and len(again.unchanged) == 2
    # ... and a sidecar for the file beats it; its title means embedding again.
    (reports / "story.txt.meta.json").write_text(json.dumps({"date": "2023-03-06", "title": "Blackout"}))
    retitled = assistant.ingest([reports], progress=False)
    assert retitled.updated == [str(story.resolve())] and retitled.failed == []
    info = assistant.index._store.document(doc_id)
    assert (info.title, info.date, info.date_source) == ("Blackout", "2023-03-06", "given")
    assert assistant.index._store.count_chunks() == first.chunks
    assert {c.title for c in assistant.index._store.iter_chunks() if c.doc_id == doc_id} == {"Blackout"}


def test_bad_sidecar_fails_its_report_only(assistant, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    _write(reports, "good.txt", "A good report about the Balad airbase.")
    _write(reports, "bad.txt", "A report whose sidecar is broken.")
    _write(reports, "bad.txt.meta.json", '{"date": "04/03/2024"}')
    report = assistant.ingest([reports], progress=False)
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert [(Path(f["path"]).name, f["error"]) for f in report.failed] == [
        ("bad.txt", "sidecar bad.txt.meta.json: field 'date' must be a date YYYY-MM-DD, got '04/03/2024'")]


def test_ingest_refuses_a_bad_given_date(assistant, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="date must be a date YYYY-MM-DD, got '2024-02-30'"):
        assistant.ingest([SAMPLE_REPORT], progress=False, date="2024-02-30")


def test_reports_are_listed_page_by_page(assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Listing every report (docs list, the Reports tab, repairs) reads the store in pages: one
    call for all records failed past ~32,000 reports (SQLite's cap on a statement's variables).
    With pages of 2, five reports take three calls and all come back, sorted by title."""
    from bench.corpus import write_corpus
    from index import store as store_module

    write_corpus(tmp_path / "r", 5)
    assistant.ingest([tmp_path / "r"], progress=False)
    monkeypatch.setattr(store_module, "PAGE", 2)
    calls = []
    get = assistant.index._store._docs.get
    monkeypatch.setattr(assistant.index._store._docs, "get", lambda **kw: (calls.append(kw), get(**kw))[1])
    docs = assistant.documents()
    assert len(docs) == 5 and len(calls) >= 3 and all(c.get("limit") == 2 for c in calls)
    assert [d.title.lower() for d in docs] == sorted(d.title.lower() for d in docs)
    ids = [d.doc_id for d in docs]
    assert assistant.index._store.existing(ids[:3] + ["missing"]) == set(ids[:3])
