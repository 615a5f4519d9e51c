"""The embedder: every backend and precision gives the same vectors as PyTorch fp32 (to cosine
> 0.99); precision and backend are knobs."""

from __future__ import annotations

import numpy as np
import pytest

from index.common.errors import ConfigError
from index.cpu import cpu_has_bf16, cpu_has_int8, native_float_precision
from index.embedding import TOKEN_BUDGET, Embedder, _length_batches, model_path, resolve_precision
from index.embedding_backends import (
    LENGTH_STEP, OpenVINOBackend, converted_model, quantized_model, resolve_backend)
from tests.conftest import MODEL_CACHE

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
def reference() -> Embedder:
    """sentence-transformers on PyTorch in fp32: the model as published."""
    return Embedder("fp32", backend="torch", cache=MODEL_CACHE)


@pytest.fixture(scope="module")
def embedders(reference: Embedder) -> tuple[Embedder, Embedder]:
    # bf16 runs everywhere (autocast and bf16 weights work on any CPU, only slower without
    # AVX-512 BF16 / AMX), so this test never skips.
    return reference, Embedder("bf16", backend="torch", cache=MODEL_CACHE)


@pytest.mark.parametrize("precision, backend", [
    ("bf16", "torch"), ("bf16", "openvino"), ("fp32", "openvino"),
])
def test_every_backend_matches_fp32(reference: Embedder, precision: str, backend: str) -> None:
    other = Embedder(precision, backend=backend, cache=MODEL_CACHE)
    assert other.backend == backend
    a, b = reference.embed(SENTENCES), other.embed(SENTENCES)
    assert a.dtype == b.dtype == np.float32 and a.shape == b.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.99, cosines
    # Rankings agree: the question's nearest sentence is the same in both.
    assert np.argmax(a[:4] @ a[4]) == np.argmax(b[:4] @ b[4]) == 0
    # Batched with texts of other lengths (padding) or alone, a text gets the same vector.
    alone = np.stack([other.embed([s])[0] for s in SENTENCES])
    assert ((alone * b).sum(axis=1)).min() > 0.999


def test_openvino_conversion_is_cached(tmp_path) -> None:
    from index.embedding import model_path

    xml = converted_model(model_path(), tmp_path)
    assert xml.exists() and xml.parent.parent == tmp_path
    stamp = xml.stat().st_mtime_ns
    assert converted_model(model_path(), tmp_path) == xml and xml.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [xml.parent.name]  # no scratch left behind
    with pytest.raises(ConfigError, match="auto, openvino, torch"):
        resolve_backend("onnx")


def test_batching_does_not_change_vectors(embedders: tuple[Embedder, Embedder]) -> None:
    _, bf16 = embedders
    together = bf16.embed(SENTENCES)
    alone = np.stack([bf16.embed([s])[0] for s in SENTENCES])
    assert ((together * alone).sum(axis=1)).min() > 0.99


def test_batches_come_in_few_shapes() -> None:
    """OpenVINO keeps compiled kernels per input shape: 20,000 texts of every length, embedded
    512 at a time as ingest does, must reach the model in a few dozen shapes."""
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 257, size=20_000).tolist()
    shapes = set()
    for start in range(0, len(lengths), 512):
        part = lengths[start : start + 512]
        batches = _length_batches(part, 128)
        assert sorted(i for batch in batches for i in batch) == list(range(len(part)))
        for batch in batches:
            padded = -(-max(part[i] for i in batch) // LENGTH_STEP) * LENGTH_STEP
            assert all(part[i] > padded - LENGTH_STEP for i in batch)  # one bucket: little padding
            assert len(batch) * padded <= TOKEN_BUDGET or len(batch) == 1
            shapes.add((len(batch), padded))
    assert len(shapes) <= 64


def test_openvino_pads_to_the_length_bucket() -> None:
    embedder = Embedder("fp32", cache=MODEL_CACHE)
    inputs = lambda texts: OpenVINOBackend.inputs(embedder.token_batch(texts))  # noqa: E731
    assert inputs(["ok"])["input_ids"].shape == (1, LENGTH_STEP)
    assert inputs(["word " * 40, "ok"])["attention_mask"].shape == (2, 2 * LENGTH_STEP)
    assert inputs(["word " * 1000])["input_ids"].shape == (1, 256)


def test_openvino_inputs_are_the_tokenizers_own_padding() -> None:
    """The ids counted once and padded here are what the model's tokenizer, cut at the window
    and padded to the length bucket, gives: the vectors are those of tokenizing in the backend."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", pad_to_multiple_of=LENGTH_STEP)
    texts = ["Two drones were shot down.", "word " * 300, "Ünïcode — “quotes” and 3,000 numbers",
             " ".join(["The Pentagon blamed militias."] * 7)]
    embedder = Embedder("fp32", cache=MODEL_CACHE)
    for batch in ([t] for t in texts):
        ours = OpenVINOBackend.inputs(embedder.token_batch(batch))
        encodings = tokenizer.encode_batch(batch)
        assert ours["input_ids"].tolist() == [e.ids for e in encodings]
        assert ours["attention_mask"].tolist() == [e.attention_mask for e in encodings]
    mixed = OpenVINOBackend.inputs(embedder.token_batch(texts[:1] + texts[2:3]))
    encodings = tokenizer.encode_batch(texts[:1] + texts[2:3])
    assert mixed["input_ids"].tolist() == [e.ids for e in encodings]


def test_precision_knob() -> None:
    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    floating = native_float_precision()
    assert floating == ("bf16" if cpu_has_bf16() else "fp32")
    assert resolve_precision("auto", "openvino") == ("int8" if cpu_has_int8() else floating)
    assert resolve_precision("auto", "torch") == floating
    with pytest.raises(ConfigError, match="auto, fp32, bf16, int8"):
        resolve_precision("fp16")
    with pytest.raises(ConfigError, match="int8 needs the openvino backend"):
        resolve_precision("int8", "torch")
    assert Embedder("fp32", cache=MODEL_CACHE).precision == "fp32"


def test_int8_passages_match_fp32_and_questions_stay_exact(reference: Embedder) -> None:
    """Passages being indexed run on the quantized model, questions on the floating-point one."""
    int8 = Embedder("int8", backend="openvino", cache=MODEL_CACHE)
    floating = Embedder(native_float_precision(), backend="openvino", cache=MODEL_CACHE)
    sentences = [s for s in SENTENCES if len(s.split()) > 3]
    int8.embed_passages(sentences)
    assert list(int8._backends) == ["int8"]  # an ingest never loads the question model
    for texts in (sentences, sentences * 40):  # one thread, and past SMALL_INPUT_TOKENS: two
        a, b = reference.embed(sentences), int8.embed_passages(texts)[: len(sentences)]
        np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
        cosines = (a * b).sum(axis=1)
        assert cosines.min() > 0.99, cosines
        assert np.argmax(b[:3] @ b[3]) == np.argmax(a[:3] @ a[3]) == 0
        assert np.abs(b - floating.embed(sentences)).max() > 1e-3  # really another model ...
    # ... while a question gets exactly the floating-point vector.
    np.testing.assert_allclose(int8.embed_query(SENTENCES[4]), floating.embed([SENTENCES[4]])[0], atol=1e-6)
    np.testing.assert_allclose(int8.embed(sentences), floating.embed(sentences), atol=1e-6)


def test_int8_model_is_built_once(tmp_path) -> None:
    from index.embedding import model_path

    xml = quantized_model(model_path(), tmp_path)
    stamp = xml.stat().st_mtime_ns
    assert quantized_model(model_path(), tmp_path) == xml and xml.stat().st_mtime_ns == stamp
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 and names[1].startswith("minilm-openvino-int8-")  # fp32 IR, then int8
    assert not any(n.startswith(".convert-") for n in names)


def test_empty_input(embedders: tuple[Embedder, Embedder]) -> None:
    assert embedders[1].embed([]).shape == (0, 384)


def test_query_cache_gives_the_same_vector_read_only(embedders: tuple[Embedder, Embedder]) -> None:
    _, bf16 = embedders
    first = bf16.embed_query(SENTENCES[4])
    assert bf16.embed_query(SENTENCES[4]) is first  # retrieval and the answerer share it
    assert float(first @ bf16.embed([SENTENCES[4]])[0]) > 0.999
    with pytest.raises(ValueError):
        first[0] = 0.0  # a cached vector cannot be changed by one caller under another
