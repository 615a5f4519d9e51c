"""Text utilities both layers use: sentence boundaries as character spans (so every quote can
point back into the report) and the words BM25 and the answerers match on."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterator, Sequence

_LINE = re.compile(r"[^\n]+")
# Punkt does not split after a closing quote that follows the full stop (”.” / ."), which news
# reports use constantly: split there too when a capital letter opens the next sentence.
_QUOTE_END = re.compile(r"(?<=[.!?][\"”’'])\s+(?=[A-Z\"“‘])")
# Punkt runs its regular expressions over a whole line under NLTK's ReDoS time limit: a line of
# megabytes of short sentences exceeds it (TimeoutError). Longer lines are cut into blocks first,
# after a sentence's end where there is one, so no sentence of normal length is split.
LONG_LINE_CHARS = 10_000
_SENTENCE_END = re.compile(r"[.!?][\"”’')\]]*\s+")


@lru_cache(maxsize=1)
def _punkt():
    """NLTK's trained English Punkt model, from the copy llama-index ships (nothing is downloaded)."""
    import nltk
    from llama_index.core.utils import globals_helper

    globals_helper.wait_for_nltk_check()  # puts llama-index's bundled NLTK data on NLTK's path
    return nltk.tokenize.PunktTokenizer("english")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """`(start, end)` of each sentence of `text[start:end]`, in order, without surrounding space.

    Line breaks always end a sentence: headlines and datelines have no full stop.
    """
    return list(iter_sentence_spans(text, start, end))


def iter_sentence_spans(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """`sentence_spans`, one at a time: the spans of a report of tens of megabytes are never all
    held."""
    end = len(text) if end is None else end
    tokenizer = _punkt()
    for line in _LINE.finditer(text, start, end):
        for base, block_end in _blocks(text, line.start(), line.end()):
            for s, e in tokenizer.span_tokenize(text[base:block_end]):
                for part in _split_after_quotes(text, base + s, base + e):
                    s2, e2 = _strip(text, *part)
                    if e2 > s2:
                        yield s2, e2


def _blocks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """`text[start:end]` as spans of at most `LONG_LINE_CHARS`, cut after the last sentence end
    in the second half of each block, else after its last space, else at the limit."""
    blocks: list[tuple[int, int]] = []
    while end - start > LONG_LINE_CHARS:
        floor, limit = start + LONG_LINE_CHARS // 2, start + LONG_LINE_CHARS
        cut = None
        for m in _SENTENCE_END.finditer(text, floor, limit):
            cut = m.end()
        if cut is None:
            space = max(text.rfind(" ", floor, limit), text.rfind("\t", floor, limit))
            cut = space + 1 if space >= 0 else limit
        blocks.append((start, cut))
        start = cut
    blocks.append((start, end))
    return blocks


def _split_after_quotes(text: str, start: int, end: int) -> list[tuple[int, int]]:
    parts: list[tuple[int, int]] = []
    cursor = start
    for m in _QUOTE_END.finditer(text, start, end):
        parts.append((cursor, m.start()))
        cursor = m.end()
    parts.append((cursor, end))
    return parts


def _strip(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _stemmer():
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # PyStemmer is optional: BM25 still works on unstemmed words
        return None


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Lower-cased, stop-word-free, stemmed words (as strings) of each text."""
    import bm25s

    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False
    )
