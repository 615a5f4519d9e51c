"""Sentence-aware chunks that fit the embedding model's window, with exact offsets.

llama-index's SentenceSplitter counts with tiktoken and re-finds each chunk in the text after
joining splits, so neither its sizes (in the model's word pieces) nor its offsets are exact;
this packer works on sentence spans and the model's own tokenizer instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import Callable, Iterator, Sequence

from index.common.knobs import knob
from index.common.text import iter_sentence_spans
from index.embedding import MODEL_WINDOW, SPECIAL_TOKENS

TokenCounter = Callable[[Sequence[str]], list[int]]
TokenSplitter = Callable[[str, int], list[tuple[int, int]]]
COUNT_SLICE = 2048  # sentences counted per call of the token counter


@dataclass(frozen=True)
class Chunk:
    """A slice `text[start:end]` of a document."""

    index: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ChunkingPolicy:
    """How large chunks are, in the embedding model's word pieces, and what is embedded."""

    max_tokens: int = knob(200, "word pieces per chunk", 32, MODEL_WINDOW - SPECIAL_TOKENS)
    # Also below max_tokens: a bound on two knobs, checked where both are set (eval/runner.py).
    overlap_tokens: int = knob(40, "word pieces consecutive chunks share", 0, MODEL_WINDOW - SPECIAL_TOKENS - 1)
    title: bool = knob(True, "the report's title embedded in front of each chunk")


def chunk_text(
    text: str,
    count_tokens: TokenCounter,
    split_long: TokenSplitter,
    policy: ChunkingPolicy = ChunkingPolicy(),
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `policy.max_tokens` word pieces.

    Consecutive chunks share trailing sentences worth up to `policy.overlap_tokens`. A sentence
    longer than the window is cut at word-piece boundaries by `split_long`.
    """
    return list(iter_chunks(text, count_tokens, split_long, policy))


def iter_chunks(
    text: str,
    count_tokens: TokenCounter,
    split_long: TokenSplitter,
    policy: ChunkingPolicy = ChunkingPolicy(),
) -> Iterator[Chunk]:
    """`chunk_text`, one chunk at a time: only the sentences of the chunk being packed are held,
    so a report of tens of megabytes (a million sentences) is chunked in a few megabytes."""
    units = _units(text, count_tokens, split_long, policy.max_tokens)
    window: list[tuple[int, int, int]] = []  # (start, end, word pieces) from the chunk's first unit

    def more() -> bool:
        unit = next(units, None)
        if unit is not None:
            window.append(unit)
        return unit is not None

    index = 0
    while window or more():
        j, total = 0, 0
        while (j < len(window) or more()) and total + window[j][2] <= policy.max_tokens:
            total += window[j][2]
            j += 1
        j = max(j, 1)
        start, end = window[0][0], window[j - 1][1]
        yield Chunk(index=index, start=start, end=end, text=text[start:end])
        index += 1
        if j >= len(window) and not more():
            return
        # Step back over trailing sentences for the overlap, but always move forward.
        back, carried = j, 0
        while back - 1 > 0 and carried + window[back - 1][2] <= policy.overlap_tokens:
            back -= 1
            carried += window[back][2]
        del window[:back]


def _units(
    text: str, count_tokens: TokenCounter, split_long: TokenSplitter, max_tokens: int
) -> Iterator[tuple[int, int, int]]:
    """`(start, end, word pieces)` of each sentence, a sentence longer than `max_tokens` cut into
    pieces of that many; counted `COUNT_SLICE` sentences at a time."""
    spans = iter_sentence_spans(text)
    while batch := list(islice(spans, COUNT_SLICE)):
        for (s, e), n in zip(batch, count_tokens([text[s:e] for s, e in batch])):
            if n <= max_tokens:
                yield s, e, n
                continue
            for ps, pe in split_long(text[s:e], max_tokens):
                yield s + ps, s + pe, max_tokens
