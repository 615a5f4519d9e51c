"""Sentence-aware chunks that fit the embedding model's window, with exact offsets.

llama-index's SentenceSplitter counts with tiktoken and re-finds each chunk in the text after
joining splits, so neither its sizes (in the model's word pieces) nor its offsets are exact;
this packer works on sentence spans and the model's own tokenizer instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from index.common.text import sentence_spans

TokenCounter = Callable[[Sequence[str]], list[int]]
TokenSplitter = Callable[[str, int], list[tuple[int, int]]]


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

    max_tokens: int = 200
    overlap_tokens: int = 40
    title: bool = True  # embed each chunk with its report's title in front


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
    units: list[tuple[int, int]] = []
    spans = sentence_spans(text)
    counts = count_tokens([text[s:e] for s, e in spans]) if spans else []
    sizes: list[int] = []
    for (s, e), n in zip(spans, counts):
        if n <= policy.max_tokens:
            units.append((s, e))
            sizes.append(n)
            continue
        for ps, pe in split_long(text[s:e], policy.max_tokens):
            units.append((s + ps, s + pe))
            sizes.append(policy.max_tokens)

    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and total + sizes[j] <= policy.max_tokens:
            total += sizes[j]
            j += 1
        j = max(j, i + 1)
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(index=len(chunks), start=start, end=end, text=text[start:end]))
        if j >= len(units):
            break
        # Step back over trailing sentences for the overlap, but always move forward.
        back, carried = j, 0
        while back - 1 > i and carried + sizes[back - 1] <= policy.overlap_tokens:
            back -= 1
            carried += sizes[back]
        i = back
    return chunks
