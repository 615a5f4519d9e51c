"""The BM25 keyword index's own arithmetic, without the model (fast tier)."""

from __future__ import annotations

import numpy as np
import pytest

from index import keyword as keyword_module

pytestmark = pytest.mark.fast


def test_document_frequency_counts_each_row_once() -> None:
    rng = np.random.default_rng(7)
    rows = [rng.integers(0, 50, size=n).astype(np.int32) for n in rng.integers(0, 40, size=300)]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    tokens = np.concatenate(rows)
    expected = np.zeros(60, dtype=np.int64)
    for row in rows:
        expected[np.unique(row)] += 1
    assert np.array_equal(keyword_module._df(tokens, offsets, 60), expected)


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
