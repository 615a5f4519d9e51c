"""Chunk texts as token ids: what the keyword index stores of a text instead of its words."""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from index.common.text import tokenize
from index.records import StoredChunk

TOKENIZE_CHARS = 1_000_000  # text tokenized per bm25s call (`_token_ids`)


def _index_text(chunk: StoredChunk) -> str:
    return f"{chunk.title}\n{chunk.text}"


def _token_ids(texts: Iterable[str], lookup: Callable[[str], int]) -> Iterator[np.ndarray]:
    """The token ids (`lookup` of each word) of each of `texts`, in order.

    Texts are tokenized together up to `TOKENIZE_CHARS` at a time, and a longer text in pieces
    of that size cut at a space: bm25s holds every word of a call as a string of its own, so
    the memory a call takes grows with its text, which this bounds.
    """
    batch: list[str] = []
    size = 0
    for text in texts:
        if size + len(text) > TOKENIZE_CHARS and batch:
            yield from _ids_of(tokenize(batch), lookup)
            batch, size = [], 0
        if len(text) <= TOKENIZE_CHARS:
            batch.append(text)
            size += len(text)
            continue
        pieces = [next(_ids_of(tokenize([piece]), lookup)) for piece in _pieces(text)]
        yield np.concatenate(pieces).astype(np.int32)
    if batch:
        yield from _ids_of(tokenize(batch), lookup)


def _ids_of(word_lists: Iterable[Sequence[str]], lookup: Callable[[str], int]) -> Iterator[np.ndarray]:
    for words in word_lists:
        yield np.fromiter(map(lookup, words), dtype=np.int32, count=len(words))


def _pieces(text: str) -> Iterator[str]:
    """`text` in pieces of at most `TOKENIZE_CHARS`, each cut after its last space or line break
    (so no word is cut), or at the limit when it has none."""
    start = 0
    while len(text) - start > TOKENIZE_CHARS:
        limit = start + TOKENIZE_CHARS
        cut = max(text.rfind(" ", start, limit), text.rfind("\n", start, limit)) + 1 or limit
        yield text[start:cut]
        start = cut
    yield text[start:]
