"""The reader: a small cross-encoder that reads a question and one report sentence together and
scores how likely the sentence holds the answer.

A bi-encoder (the embedder) compares two vectors made apart, so it cannot tell the sentence that
restates a question from the one that answers it; a cross-encoder attends across both. None can
be downloaded here, so the project trains its own from all-MiniLM-L6-v2's weights on real news
questions (`python -m eval.train_reader`; docs/evaluation.md: The reader) and ships it in
`index/reader/` as OpenVINO IR with int8 weights, read with no torch import.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from index.common.errors import ConfigError
from index.cpu import RUNTIME_CACHE_SHAPES, native_float_precision

READER_DIR = Path(__file__).with_name("reader")
MODEL_FILE = "model.xml"
TOKENIZER_FILE = "tokenizer.json"
META_FILE = "reader.json"


def pair_text(sentence: str, title: str) -> str:
    """The second segment the reader reads: the sentence, then its report's title as context
    (news sentences lean on their headline: "He said ..."). Training and inference share it."""
    sentence = " ".join(sentence.split())
    title = " ".join(title.split())
    if not title or title == sentence:
        return sentence
    return f"{sentence} | {title}"


@dataclass(frozen=True)
class ReaderMeta:
    """What the shipped model was trained with (`reader.json`)."""

    max_length: int  # word pieces of question and sentence together
    trained_on: str


class Reader:
    """The shipped cross-encoder: `scores(question, sentences, titles)` gives one logit a
    sentence (higher: more likely to hold the answer)."""

    def __init__(self, model_dir: Path = READER_DIR, threads: int = 2) -> None:
        import openvino as ov
        from tokenizers import Tokenizer

        xml = model_dir / MODEL_FILE
        if not xml.exists():
            raise ConfigError(f"the reader model is missing: {xml} (see README: The shipped reader model)")
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        self.meta = ReaderMeta(int(meta["max_length"]), str(meta.get("trained_on", "")))
        self._tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
        # The longer of the two is cut first: the sentence, as in training (which cut only it),
        # unless the question alone fills the window (the API takes 2,000 characters).
        self._tokenizer.enable_truncation(self.meta.max_length, strategy="longest_first")
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        core = ov.Core()
        # Latency first: an ask reads about a dozen pairs, one small batch, and two threads read
        # it clearly faster than one (docs/evaluation.md: The reader). The weights are int8;
        # what runs in floating point runs in bf16 where the CPU has it.
        precision = {"bf16": "bf16", "fp32": "f32"}[native_float_precision()]
        self._compiled = core.compile_model(core.read_model(str(xml)), "CPU", {
            "PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads,
            "INFERENCE_PRECISION_HINT": precision,
            "CPU_RUNTIME_CACHE_CAPACITY": RUNTIME_CACHE_SHAPES})
        self._lock = threading.Lock()

    def scores(self, question: str, sentences: Sequence[str], titles: Sequence[str]) -> np.ndarray:
        """The reader's logit for each sentence (with its report's title) answering `question`."""
        if not sentences:
            return np.zeros(0, dtype=np.float32)
        question = " ".join(question.split())
        pairs = [(question, pair_text(s, t)) for s, t in zip(sentences, titles, strict=True)]
        encodings = self._tokenizer.encode_batch(pairs)
        inputs = {
            "input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64),
        }
        # A request per call: compiled models are shared by threads, requests are not.
        request = self._compiled.create_infer_request()
        request.infer(inputs)
        return np.array(request.get_output_tensor(0).data, dtype=np.float32).reshape(-1)


@lru_cache(maxsize=2)
def shared_reader(model_dir: Path = READER_DIR) -> Reader:
    """One reader per process (loading compiles the model: about a second)."""
    return Reader(model_dir)


def reader_available(model_dir: Path = READER_DIR) -> bool:
    """True when the model ships in `model_dir`."""
    return (model_dir / MODEL_FILE).exists()
