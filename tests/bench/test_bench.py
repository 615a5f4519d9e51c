"""The benchmark's parts on a small scale, and the keyword index's incremental updates."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from bench.corpus import report, write_corpus
from index.keyword import index as keyword_index
from index.keyword import KeywordIndex, Stamp
from index.records import StoredChunk
from tests.conftest import ROOT


def test_corpus_is_deterministic_news_length(tmp_path: Path) -> None:
    assert report(5) == report(5) and report(5) != report(6)
    words = [len(report(i)[1].split()) for i in range(60)]
    assert 280 <= min(words) and max(words) <= 700
    paths = write_corpus(tmp_path, 3)
    assert [p.name for p in paths] == ["report-000000.txt", "report-000001.txt", "report-000002.txt"]


def test_flops_per_token_of_minilm() -> None:
    from bench.__main__ import minilm_flops_per_token

    config = {"hidden_size": 384, "intermediate_size": 1536, "num_hidden_layers": 6}
    # 6 layers x 2 x (4*384^2 + 2*384*1536 + 2*256*384) = 23.6 MFLOPs at 256 tokens.
    assert minilm_flops_per_token(config, 256) == pytest.approx(23.59e6, rel=1e-3)


def test_int8_matrix_product_peak_is_measured() -> None:
    """The bench reports embedding throughput against the CPU's int8 (VNNI) GEMM peak too."""
    from bench.__main__ import matmul_peak_gflops

    assert matmul_peak_gflops("int8", threads=1, n=256, repeats=1) > 0


def _chunk(i: int, doc: str, text: str) -> StoredChunk:
    return StoredChunk(f"{doc}:{i}", doc, f"Title {doc}", f"/r/{doc}.txt", "2024-01-02", 0, len(text), text)


def _corpus(n: int) -> list[StoredChunk]:
    words = ["rocket", "airbase", "inflation", "harvest", "flood", "election", "vaccine", "drone"]
    rng = np.random.default_rng(0)
    return [_chunk(0, f"d{i}", " ".join(rng.choice(words, 12)) + f" marker{i}") for i in range(n)]


@pytest.mark.parametrize("delta_min_tokens", [10**9, 10])
def test_incremental_keyword_index_matches_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delta_min_tokens: int
) -> None:
    """Updates (folded or through the delta) rank like an index rebuilt from scratch."""
    monkeypatch.setattr(keyword_index, "DELTA_MIN_TOKENS", delta_min_tokens)
    monkeypatch.setattr(keyword_index, "DELTA_SHARE", 0.5)
    chunks = _corpus(40)
    index = KeywordIndex(tmp_path / "inc")
    index.rebuild(chunks[:30], Stamp(30, "a"))
    index.update(chunks[30:34], [], Stamp(34, "b"))
    index.update(chunks[34:], ["d3", "d31"], Stamp(38, "c"))
    live = [c for c in chunks if c.doc_id not in ("d3", "d31")]
    fresh = KeywordIndex(tmp_path / "fresh")
    fresh.rebuild(live, Stamp(38, "c"))
    assert len(index) == len(fresh) == 38
    for query in ("marker35", "marker3", "marker31 rocket", "flood election marker7"):
        got = index.search(query, 5)
        assert [cid for cid, _ in got][:1] == [cid for cid, _ in fresh.search(query, 5)][:1]
        assert all(not cid.startswith(("d3:", "d31:")) for cid, _ in got)
    assert index.search("marker3", 5) == []  # deleted: gone at once
    # Persisted: a second process loads the same state and stamp.
    reopened = KeywordIndex(tmp_path / "inc")
    assert reopened.stamp == Stamp(38, "c")
    assert reopened.search("marker35", 1)[0][0] == "d35:0"


def test_a_few_long_rows_take_the_delta_like_many_short_ones(tmp_path: Path) -> None:
    """The report-level index has few rows of many tokens: past DELTA_MIN_TOKENS an update goes
    to the delta, however few the rows, instead of rebuilding every report's tokens."""
    long_text = " ".join(f"word{i}" for i in range(keyword_index.DELTA_MIN_TOKENS // 20 + 1))
    reports = [_chunk(0, f"r{i}", f"{long_text} marker{i}") for i in range(21)]
    index = KeywordIndex(tmp_path / "reports")
    index.rebuild(reports[:20], Stamp(20, "a"))
    folds = []
    index._fold = lambda *args: folds.append(args)  # noqa: SLF001  (a fold would rebuild)
    index.update(reports[20:], [], Stamp(21, "b"))
    assert folds == [] and index.search("marker20", 1)[0][0] == "r20:0"


def test_ingest_updates_keyword_index_without_rebuilding(assistant, tmp_path: Path, monkeypatch) -> None:
    reports = tmp_path / "reports"
    write_corpus(reports, 3)
    assistant.ingest([reports], progress=False)
    rebuilds = []
    original = KeywordIndex.rebuild
    monkeypatch.setattr(KeywordIndex, "rebuild", lambda self, *a: (rebuilds.append(1), original(self, *a)))
    write_corpus(reports, 1, first_seed=50)
    assistant.ingest([reports], progress=False)
    doc = assistant.documents()[0]
    assistant.delete(doc.doc_id)
    assert rebuilds == []
    store = assistant.index._store
    assert assistant.index._keyword.stamp == Stamp(store.count_chunks(), store.changes())
    assert len(assistant.index._keyword) == store.count_chunks()
    # A write by someone else (here: straight into the store) is still detected and rebuilt.
    from index.keyword.sync import CHUNKS, sync_keyword_indexes

    store.delete_document(assistant.documents()[0].doc_id)
    assert sync_keyword_indexes(store, [(assistant.index._keyword, CHUNKS)]) == [True] and rebuilds == [1]


def test_grown_reports_reach_both_keyword_indexes_without_a_rebuild(assistant, tmp_path: Path, monkeypatch) -> None:
    """The scale benchmark's synthetic reports go into the store and, from their rows, into
    both keyword indexes, which stay in step with the store (no rebuild from Chroma)."""
    from bench.scale import grow_store

    write_corpus(tmp_path / "r", 2)
    assistant.ingest([tmp_path / "r"], progress=False)
    rebuilds = []
    original = KeywordIndex.rebuild
    monkeypatch.setattr(KeywordIndex, "rebuild", lambda self, *a: (rebuilds.append(1), original(self, *a)))
    grown = grow_store(assistant, assistant.index.count_chunks() + 40, seed=7)
    assert grown["added_chunks"] >= 40 and rebuilds == []
    store = assistant.index._store
    assert assistant.index._keyword.stamp == Stamp(store.count_chunks(), store.changes())
    assert len(assistant.index._keyword) == store.count_chunks()
    assert len(assistant.index._document_keyword) == store.count_documents()
    synthetic = next(d for d in assistant.documents() if d.doc_id.startswith("syn7-"))
    title_words = " ".join(synthetic.title.split()[:6])
    assert synthetic.doc_id in {doc_id for doc_id, _ in assistant.index._document_keyword.search(title_words, 50)}


def test_chunk_embeddings_are_the_stored_vectors(assistant, tmp_path: Path) -> None:
    write_corpus(tmp_path / "r", 1)
    assistant.ingest([tmp_path / "r"], progress=False)
    chunk = next(assistant.index._store.iter_chunks())
    vectors = assistant.index._store.chunk_embeddings([chunk.chunk_id, "missing"])
    assert list(vectors) == [chunk.chunk_id]
    again = assistant.index.embedder.embed_passages([f"{chunk.title}\n{chunk.text}" if chunk.title not in chunk.text else chunk.text])[0]
    assert float(vectors[chunk.chunk_id] @ again) > 0.99


def test_bench_runs_small(tmp_path: Path) -> None:
    """The whole bench at toy scale: JSON and plot written, numbers present."""
    from bench.__main__ import main

    out = tmp_path / "out"
    day = time.strftime("%Y-%m-%d")
    assert main(["--out", str(out), "--docs", "6", "--scales", "60", "--queries", "3",
                 "--skip", "llamaindex,server,flops"]) == 0
    results = json.loads((out / "bench.json").read_text())
    assert results["ingestion"]["project"]["documents"] == 6
    assert results["ingestion"]["project"]["coverage"]["mean"] > 0.99
    # A ratio is read against its host: the day, the CPU and its int8 and fp32 peaks go with it.
    measured = results["ingestion"]["measured"]
    assert measured["date"] in {day, time.strftime("%Y-%m-%d")}
    assert measured["peak_gops_2_threads"]["int8"] > measured["peak_gops_2_threads"]["float32"] > 0
    row = results["queries"][0]
    assert row["chunks"] >= 60 and row["retrieve"]["n"] == 3 and row["ask_as_of"]["n"] == 3
    assert row["timeline"]["n"] == 3 and row["timeline"]["p95_ms"] >= row["timeline"]["p50_ms"] > 0
    assert row["add_delete"]["ingest_one_s"] > 0 and row["add_delete"]["delete_one_s"] > 0
    # The same store again through a real `chroma run` over its folder: same size, same questions.
    served = results["chroma_server"]
    assert served["chunks"] == row["chunks"] and served["ask"]["n"] == 3
    assert served["chroma_server"]["rss_mb"] > 0 and served["add_delete"]["delete_one_s"] > 0
    assert (out / "bench.png").stat().st_size > 1000


def test_bench_measures_ask_over_a_real_news_index_it_is_given(sample_home: Path, tmp_path: Path) -> None:
    """`--real-news HOME TESTSET`: ask's latency over an index built elsewhere, asked that test
    set's questions (here the sample report's index and test set)."""
    from bench.__main__ import main

    out = tmp_path / "out"
    testset = ROOT / "eval" / "testsets" / "sample_reports.jsonl"
    assert main(["--out", str(out), "--docs", "2", "--scales", "", "--real-queries", "5",
                 "--skip", "ingest,llamaindex,flops,server,chroma-server", "--real-news", str(sample_home),
                 str(testset)]) == 0
    real = json.loads((out / "bench.json").read_text())["real_news"]
    assert real["documents"] == 1 and real["chunks"] > 1
    assert real["ask"]["n"] == 5 and real["ask"]["p95_ms"] >= real["ask"]["p50_ms"] > 0
    assert "ask_as_of" not in real


def test_bench_takes_the_first_articles_of_a_folder(tmp_path: Path) -> None:
    """`--docs FOLDER --count N`: the first N articles (name order, sidecars left out) are what
    the ingestion race ingests; too few is an error naming the folder."""
    from bench.__main__ import main

    build = tmp_path / "devset"
    docs = build / "docs"
    docs.mkdir(parents=True)
    for i in range(5):
        (docs / f"a{i}.txt").write_text(f"Article {i}\n\nThe council met on Monday about item {i}. It agreed.")
    (docs / "a0.txt.meta.json").write_text('{"date": "2024-01-02"}')
    out = tmp_path / "out"
    assert main(["--out", str(out), "--docs", str(build), "--count", "3",
                 "--skip", "llamaindex,query,server,flops"]) == 0
    results = json.loads((out / "bench.json").read_text())
    assert results["corpus"]["documents"] == 3 and results["corpus"]["source"] == str(build.resolve())
    assert sorted(p.name for p in Path(results["corpus"]["folder"]).iterdir()) == ["a0.txt", "a1.txt", "a2.txt"]
    assert results["ingestion"]["project"]["documents"] == 3
    with pytest.raises(ValueError, match="--count asks for 9"):
        main(["--out", str(out), "--docs", str(docs), "--count", "9", "--skip", "llamaindex,query,server,flops"])

