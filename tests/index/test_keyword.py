"""The BM25 keyword index's own arithmetic, without the model (fast tier)."""

from __future__ import annotations

import numpy as np
import pytest

from index.common.text import tokenize
from index.keyword import index as keyword_index
from index.keyword import base as keyword_base

pytestmark = pytest.mark.fast


def test_term_counts_give_each_rows_distinct_terms_and_frequencies() -> None:
    rng = np.random.default_rng(7)
    rows = [rng.integers(0, 50, size=n).astype(np.int32) for n in rng.integers(0, 40, size=300)]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    row, term, tf = keyword_base._term_counts(np.concatenate(rows), offsets)
    expected = sorted((r, int(t), int(c)) for r, tokens in enumerate(rows)
                      for t, c in zip(*np.unique(tokens, return_counts=True)))
    assert list(zip(row.tolist(), term.tolist(), tf.tolist())) == expected
    df = np.bincount(term, minlength=60)  # document frequency: each row counted once
    assert df[int(rows[0][0])] == sum(int(rows[0][0]) in r for r in rows)


@pytest.mark.parametrize("block_tokens", [keyword_base.BUILD_BLOCK_TOKENS, 7, 100])
def test_numpy_matrix_ranks_and_scores_like_bm25s_own_index(monkeypatch, block_tokens: int) -> None:
    """`_bm25` builds bm25s' score matrix with numpy, block by block of rows; bm25s' own `index`
    gives the same one."""
    import bm25s

    monkeypatch.setattr(keyword_base, "BUILD_BLOCK_TOKENS", block_tokens)

    rng = np.random.default_rng(3)
    vocab = {f"w{i}": i for i in range(40)}
    lists = [rng.integers(0, 40, size=n).astype(np.int32) for n in rng.integers(1, 30, size=200)]
    rows = keyword_base._Rows([str(i) for i in range(200)], [str(i) for i in range(200)],
                                [""] * 200, [0] * 200)
    ours = keyword_base._Base.build(rows, vocab, lists).retriever
    theirs = bm25s.BM25()
    theirs.index(([t.tolist() for t in lists], dict(vocab)), show_progress=False)
    for key in ("indices", "indptr"):
        assert np.array_equal(ours.scores[key], theirs.scores[key])
    assert np.allclose(ours.scores["data"], theirs.scores["data"], rtol=1e-5)
    assert ours.vocab_dict == theirs.vocab_dict


def test_search_ranks_like_bm25s_retrieve(tmp_path) -> None:
    """Our scoring of the query's columns gives bm25s' `retrieve` ranking and scores."""
    from index.keyword import KeywordIndex, Stamp
    from index.records import StoredChunk

    rng = np.random.default_rng(5)
    words = [f"word{i}" for i in range(30)]
    chunks = [StoredChunk(f"d{i}:0", f"d{i}", "", "s", None, 0, 9, " ".join(rng.choice(words, 15)))
              for i in range(80)]
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild(chunks, Stamp(80, "x"))
    retriever = index._main.retriever
    for query in ("word1 word2", "word3 word3 word17", "word29"):
        tokens = tokenize([query])[0]
        ids, scores = retriever.retrieve([tokens], k=10, show_progress=False, n_threads=1)
        got = index.search(query, 10)
        assert [s for _, s in got] == pytest.approx([float(s) for s in scores[0] if s > 0], rel=1e-6)
        floor = min(s for _, s in got)  # rows tied with the last may be cut either way
        assert ({cid for cid, s in got if s > floor + 1e-6}
                == {f"d{int(i)}:0" for i, s in zip(ids[0], scores[0]) if s > floor + 1e-6})


def test_document_frequencies_are_saved_and_loaded(tmp_path) -> None:
    from index.keyword import KeywordIndex, Stamp
    from index.records import StoredChunk

    chunks = [StoredChunk(f"d{i}:0", f"d{i}", "T", "s", None, 0, 9, f"rocket flood{i % 3}")
              for i in range(12)]
    built = KeywordIndex(tmp_path / "kw")
    built.rebuild(chunks, Stamp(12, "x"))
    loaded = KeywordIndex(tmp_path / "kw")
    assert np.array_equal(loaded._main.df, built._main.df)
    assert loaded.search("flood1 rocket", 3) == built.search("flood1 rocket", 3)


def test_delta_is_folded_past_its_token_cap_and_persisted_below_it(tmp_path, monkeypatch) -> None:
    """Below `DELTA_MAX_TOKENS` new chunks wait in the delta (saved beside the state, reloaded by
    another process); past it they are folded into the main index."""
    from index.keyword import KeywordIndex, Stamp
    from index.records import StoredChunk

    monkeypatch.setattr(keyword_index, "DELTA_MIN_TOKENS", 1)
    monkeypatch.setattr(keyword_index, "DELTA_SHARE", 100.0)
    monkeypatch.setattr(keyword_index, "DELTA_MAX_TOKENS", 12)
    chunk = lambda i, text: StoredChunk(f"n{i}:0", f"n{i}", "", "s", None, 0, 9, text)  # noqa: E731
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild([chunk(0, "harbour crane strike"), chunk(1, "wheat harvest")], Stamp(2, "a"))
    index.update([chunk(2, "zebra sighting near the harbour")], [], Stamp(3, "b"))
    assert len(index._delta.rows.ids) == 1 and "zebra" in index._delta.extra
    reopened = KeywordIndex(tmp_path / "kw")
    assert reopened.search("zebra harbour", 3)[0][0] == "n2:0"
    assert len(list((tmp_path / "kw").glob("delta-*.npz"))) == 1
    index.update([chunk(3, " ".join(["giraffe"] * 12))], ["n0"], Stamp(3, "c"))
    assert len(index._delta.rows.ids) == 0 and len(index._main.rows.ids) == 3  # folded, n0 gone
    assert {cid for cid, _ in index.search("giraffe zebra harbour", 5)} == {"n2:0", "n3:0"}
    assert not list((tmp_path / "kw").glob("delta-*.npz"))


def test_a_swap_of_reports_that_keeps_every_count_is_still_seen(tmp_path) -> None:
    """Another writer replaces one report by another of as many chunks: row counts are as
    before, but the store's change count moved, so the keyword index is rebuilt."""
    from index.common.types import DocumentInfo
    from index.keyword.sync import CHUNKS, sync_keyword_indexes
    from index.keyword import KeywordIndex
    from tests.fakes import MemoryStore

    def report(doc_id: str, words: str) -> tuple:
        info = DocumentInfo(doc_id, doc_id, f"/r/{doc_id}.txt", None, 1, len(words))
        return (info, [(f"{doc_id}:0", 0, len(words), words)], np.ones((1, 4), np.float32), words, doc_id)

    store = MemoryStore()
    store.add_documents([report("a", "harbour crane strike"), report("b", "wheat harvest")])
    index = KeywordIndex(tmp_path / "kw")
    assert sync_keyword_indexes(store, [(index, CHUNKS)]) == [True]
    assert sync_keyword_indexes(store, [(index, CHUNKS)]) == [False]
    store.delete_document("b")
    store.add_documents([report("c", "flood barrier")])
    assert store.count_chunks() == 2 and sync_keyword_indexes(store, [(index, CHUNKS)]) == [True]
    assert index.search("flood", 2)[0][0] == "c:0" and index.search("wheat", 2) == []



def test_a_built_index_reads_its_saved_files_not_copies_in_memory(tmp_path) -> None:
    """After a rebuild or a fold, the main index's tokens and score matrix are the saved files,
    memory-mapped, as in a process that loads them: an ingest does not hold every fold's arrays.
    Searches keep working after the next fold replaces (and deletes) those files."""
    from index.keyword import KeywordIndex, Stamp
    from index.records import StoredChunk

    def chunk(i: int, text: str) -> StoredChunk:
        return StoredChunk(f"n{i}:0", f"n{i}", "T", "s", None, 0, len(text), text)

    index = KeywordIndex(tmp_path / "kw")
    index.rebuild([chunk(0, "harbour crane strike"), chunk(1, "wheat harvest")], Stamp(2, "a"))
    first = index._main
    assert isinstance(first.tokens, np.memmap)
    assert all(isinstance(first.retriever.scores[k], np.memmap) for k in ("data", "indices", "indptr"))
    index.update([chunk(2, "harbour flood barrier")], [], Stamp(3, "b"))  # small: folded at once
    assert index._main is not first and isinstance(index._main.tokens, np.memmap)
    assert {cid for cid, _ in index.search("harbour", 5)} == {"n0:0", "n2:0"}
    # The replaced index's files are gone, its mapping still reads (a search in flight).
    assert KeywordIndex._search_main(first, None, ["wheat"], 2, None)[0][0] == "n1:0"


@pytest.mark.parametrize("in_delta", [0, 4])
def test_best_chunks_agree_with_search_scores(tmp_path, monkeypatch, in_delta: int) -> None:
    """`best_chunks` scores a few reports' rows from the cached tokens, all at once (and the
    delta's from its term frequencies); each report's best chunk and score are those a full
    search ranks first for it. (With a delta, search scores main rows with the main index's
    statistics and best_chunks with the whole index's: there only the delta's reports compare.)"""
    from index.keyword import KeywordIndex, Stamp
    from index.records import StoredChunk

    for name, value in (("DELTA_MIN_TOKENS", 1), ("DELTA_SHARE", 100.0), ("DELTA_MAX_TOKENS", 10**6)):
        monkeypatch.setattr(keyword_index, name, value)  # the last reports stay in the delta
    rng = np.random.default_rng(11)
    words = [f"w{i}" for i in range(25)]
    chunks = [StoredChunk(f"r{r}:{c}", f"r{r}", "T", "s", None, 0, 9,
                          " ".join(rng.choice(words, int(rng.integers(0, 20)))))
              for r in range(12) for c in range(int(rng.integers(1, 9)))]
    later = [c for c in chunks if int(c.doc_id[1:]) >= 12 - in_delta]
    index = KeywordIndex(tmp_path / "kw")
    index.rebuild(chunks[: len(chunks) - len(later)], Stamp(len(chunks) - len(later), "x"))
    if later:
        index.update(later, [], Stamp(len(chunks), "y"))
        assert len(index._delta.rows.ids) == len(later)
    for query in ("w1 w2", "w3 w3 w17", "w24 w0 w5 nothing"):
        expected: dict[str, tuple[str, float]] = {}
        for chunk_id, score in index.search(query, len(chunks)):
            doc_id = chunk_id.split(":")[0]
            if doc_id not in expected or score > expected[doc_id][1] + 1e-6:
                expected[doc_id] = (chunk_id, score)
        wanted = [f"r{r}" for r in range(0, 12, 2)]
        best = index.best_chunks(query, wanted)
        assert set(best) == {d for d in expected if d in wanted}
        compared = [d for d in best if int(d[1:]) >= 12 - in_delta] if in_delta else list(best)
        assert compared
        for doc_id in compared:
            assert best[doc_id][1] == pytest.approx(expected[doc_id][1], rel=1e-5)
