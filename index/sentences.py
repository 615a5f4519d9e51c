"""Sentence boundaries as character spans, so every quote can point back into the report."""

from __future__ import annotations

import re
from functools import lru_cache

_LINE = re.compile(r"[^\n]+")
# Punkt does not split after a closing quote that follows the full stop (”.” / ."), which news
# reports use constantly: split there too when a capital letter opens the next sentence.
_QUOTE_END = re.compile(r"(?<=[.!?][\"”’'])\s+(?=[A-Z\"“‘])")


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
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    tokenizer = _punkt()
    for line in _LINE.finditer(text, start, end):
        base = line.start()
        segment = line.group()
        for s, e in tokenizer.span_tokenize(segment):
            piece_start = base + s
            for part in _split_after_quotes(text, piece_start, base + e):
                spans.append(part)
    return [(s, e) for s, e in (_strip(text, s, e) for s, e in spans) if e > s]


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
