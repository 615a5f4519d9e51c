"""The reader: a small cross-encoder that reads a question and one report sentence together and
says which sentence answers (`choice`), how likely it answers at all (`answers`: refusal) and
where in it the answer lies in a few words (`short`).

A bi-encoder (the embedder) compares two vectors made apart, so it cannot tell the sentence that
restates a question from the one that answers it; a cross-encoder attends across both. None can
be downloaded here, so the project trains its own from all-MiniLM-L6-v2's weights on real news
questions (`python -m eval.train_reader`; docs/evaluation.md: The reader) and ships it in
`index/reader/` as OpenVINO IR with int8 weights, read with no torch import.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from index.common.errors import ConfigError
from index.cpu import RUNTIME_CACHE_SHAPES, native_float_precision

READER_DIR = Path(__file__).with_name("reader_model")  # the shipped model: its weights, tokenizer and reader.json
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


# Sentences read in one batch (`Reader.read`): an ask reads a dozen, all at once.
READ_BATCH = 16
# A short answer is a name, a number, a date or a phrase: at most this many word pieces.
MAX_SHORT_PIECES = 24
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Short:
    """Where the answer lies inside a sentence (character offsets into the sentence as given)
    and the reader's probability for that span."""

    start: int
    end: int
    probability: float


@dataclass(frozen=True)
class Reading:
    """The reader's judgment of each sentence of one question."""

    choice: np.ndarray  # logits, comparable between one question's sentences: which answers
    answers: np.ndarray  # probability that the sentence answers the question
    shorts: tuple[Short | None, ...]  # the answer's span in the sentence, if any

    @staticmethod
    def empty() -> "Reading":
        """The reading of no sentences."""
        return Reading(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float32), ())


@dataclass(frozen=True)
class ReaderMeta:
    """What the shipped model was trained with (`reader.json`)."""

    max_length: int  # word pieces of question and sentence together
    trained_on: str
    # The extractive answerer's settings fitted for this model (eval/fit_sentences.py); a model
    # is only as good as the thresholds it is read with, so they ship with it.
    answerer: dict[str, float | str]


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
        self.meta = ReaderMeta(int(meta["max_length"]), str(meta.get("trained_on", "")),
                               dict(meta.get("answerer", {})))
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

    def read(self, question: str, sentences: Sequence[str], titles: Sequence[str]) -> Reading:
        """The reader's judgment of each sentence (with its report's title) for `question`.

        More than `READ_BATCH` sentences are read shortest first in batches of that many: a
        batch is padded to its longest pair, and one batch of sentences of every length costs
        about twice as much (a timeline reads dozens)."""
        if len(sentences) <= READ_BATCH:
            return self._read(question, sentences, titles)
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i]) + len(titles[i]))
        choice = np.zeros(len(sentences), dtype=np.float32)
        answers = np.zeros(len(sentences), dtype=np.float32)
        shorts: list[Short | None] = [None] * len(sentences)
        for at in range(0, len(order), READ_BATCH):
            batch = order[at : at + READ_BATCH]
            part = self._read(question, [sentences[i] for i in batch], [titles[i] for i in batch])
            choice[batch], answers[batch] = part.choice, part.answers
            for i, short in zip(batch, part.shorts):
                shorts[i] = short
        return Reading(choice, answers, tuple(shorts))

    def _read(self, question: str, sentences: Sequence[str], titles: Sequence[str]) -> Reading:
        """`read` of one batch."""
        if not sentences:
            return Reading.empty()
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
        outputs = [np.array(request.get_output_tensor(i).data, dtype=np.float32)
                   for i in range(len(self._compiled.outputs))]
        if len(outputs) == 1:
            # A model of one head (v4): one logit, trained for choice and answering at once.
            return Reading(outputs[0].reshape(-1), _sigmoid(outputs[0].reshape(-1)), (None,) * len(sentences))
        choice, answers, starts, ends = outputs
        shorts = tuple(_short(sentence, encoding, s, e)
                       for sentence, encoding, s, e in zip(sentences, encodings, starts, ends))
        return Reading(choice.reshape(-1), _sigmoid(answers.reshape(-1)), shorts)

    def scores(self, question: str, sentences: Sequence[str], titles: Sequence[str]) -> np.ndarray:
        """The choice logit of each sentence for `question` (higher: more likely the answer)."""
        return self.read(question, sentences, titles).choice


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30.0, 30.0)))


def _short(sentence: str, encoding, start_logits: np.ndarray, end_logits: np.ndarray) -> Short | None:
    """The best span of the sentence by the span head, with its probability (the softmax of
    start and of end over the sentence's word pieces and [CLS], which stands for "none"); None
    when "none" wins. Offsets are mapped from the whitespace-collapsed text the reader read
    back to `sentence`."""
    collapsed = " ".join(sentence.split())
    pieces = [i for i, (seq, (a, b)) in enumerate(zip(encoding.sequence_ids, encoding.offsets))
              if seq == 1 and b <= len(collapsed) and b > a]
    if not pieces:
        return None
    allowed = np.array([0, *pieces])
    start_p = _softmax(start_logits[allowed])
    end_p = _softmax(end_logits[allowed])
    # Every span of the sentence's pieces at once (start <= end, at most MAX_SHORT_PIECES long):
    # an ask reads a dozen sentences, and a loop over their pairs cost more than the model.
    spans = np.triu(np.outer(start_p[1:], end_p[1:])) - np.triu(np.ones((len(pieces),) * 2), MAX_SHORT_PIECES)
    a, b = np.unravel_index(int(np.argmax(spans)), spans.shape)
    best_p = float(spans[a, b])
    if best_p <= float(start_p[0] * end_p[0]):
        return None
    best = (allowed[a + 1], allowed[b + 1])
    origin = [m.start() + k for m in _WORD.finditer(sentence) for k in range(len(m.group()) + 1)]
    begin, finish = encoding.offsets[best[0]][0], encoding.offsets[best[1]][1]
    return Short(origin[begin], origin[finish - 1] + 1, best_p)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


@lru_cache(maxsize=2)
def shared_reader(model_dir: Path = READER_DIR) -> Reader:
    """One reader per process (loading compiles the model: about a second)."""
    return Reader(model_dir)
