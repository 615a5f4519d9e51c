"""The embedder: bf16 gives the same vectors as fp32 (to cosine > 0.99), precision is a knob."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import ConfigError
from index.embedding import Embedder, cpu_has_bf16, resolve_precision

SENTENCES = [
    "Military bases hosting American troops in Iraq and Syria were struck by rockets on Wednesday.",
    "No casualties were reported from the attacks.",
    "The central bank raised interest rates by half a percentage point to curb inflation.",
    "Floods displaced thousands of families in the north of the country.",
    "What did the Pentagon press secretary say about the militias?",
    "Vaccination rates rose sharply after the clinics extended their opening hours. " * 12,  # > window
    "ok",
]


@pytest.fixture(scope="module")
def embedders() -> tuple[Embedder, Embedder]:
    # bf16 runs everywhere (autocast and bf16 weights work on any CPU, only slower without
    # AVX-512 BF16 / AMX), so this test never skips.
    return Embedder("fp32"), Embedder("bf16")


def test_bf16_matches_fp32(embedders: tuple[Embedder, Embedder]) -> None:
    fp32, bf16 = embedders
    a, b = fp32.embed(SENTENCES), bf16.embed(SENTENCES)
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.99, cosines
    # Rankings agree: the question's nearest sentence is the same in both precisions.
    assert np.argmax(a[:4] @ a[4]) == np.argmax(b[:4] @ b[4]) == 0


def test_batching_does_not_change_vectors(embedders: tuple[Embedder, Embedder]) -> None:
    _, bf16 = embedders
    together = bf16.embed(SENTENCES)
    alone = np.stack([bf16.embed([s])[0] for s in SENTENCES])
    assert ((together * alone).sum(axis=1)).min() > 0.99


def test_precision_knob() -> None:
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if cpu_has_bf16() else "fp32")
    with pytest.raises(ConfigError, match="auto, fp32, bf16"):
        resolve_precision("fp16")
    assert Embedder("fp32").bf16 is False


def test_empty_input(embedders: tuple[Embedder, Embedder]) -> None:
    assert embedders[1].embed([]).shape == (0, 384)


def test_query_cache_gives_the_same_vector_read_only(embedders: tuple[Embedder, Embedder]) -> None:
    _, bf16 = embedders
    first = bf16.embed_query(SENTENCES[4])
    assert bf16.embed_query(SENTENCES[4]) is first  # retrieval and the answerer share it
    assert float(first @ bf16.embed([SENTENCES[4]])[0]) > 0.999
    with pytest.raises(ValueError):
        first[0] = 0.0  # a cached vector cannot be changed by one caller under another
