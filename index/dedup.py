"""Near-duplicate reports: the same wire story carried by several outlets with small edits.

Two reports are near-duplicates when the word 5-grams ("shingles") of their openings overlap
by at least `threshold` (Jaccard). Different stories written from the same mould ("A fire tore
through a warehouse ...") share phrases but not the names and numbers between them, and stay
far below: on the generated news set copies score well above `DUPLICATE_THRESHOLD` and distinct
stories well below it (docs/evaluation.md: News awareness).
"""

from __future__ import annotations

import re
import zlib
from typing import Mapping, Sequence

SHINGLE_WORDS = 5
PREFIX_CHARS = 6000  # a report's opening is enough to recognise a copy
DUPLICATE_THRESHOLD = 0.5
_WORD = re.compile(r"\w+")


def shingles(text: str, n: int = SHINGLE_WORDS) -> frozenset[int]:
    """Hashes of the word n-grams of `text` (lower case), from its first PREFIX_CHARS."""
    words = _WORD.findall(text[:PREFIX_CHARS].lower())
    if len(words) < n:
        return frozenset([zlib.crc32(" ".join(words).encode())]) if words else frozenset()
    return frozenset(zlib.crc32(" ".join(words[i : i + n]).encode()) for i in range(len(words) - n + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    """|a & b| / |a | b| (0 when both are empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


class DuplicateFinder:
    """Groups reports whose texts are near-duplicates of each other."""

    def __init__(self, texts: Mapping[str, str], threshold: float = DUPLICATE_THRESHOLD) -> None:
        self.threshold = threshold
        self._shingles = {doc_id: shingles(text) for doc_id, text in texts.items()}

    def is_duplicate(self, doc_id: str, of: Sequence[str]) -> str | None:
        """The first report of `of` that `doc_id` duplicates, or None."""
        mine = self._shingles.get(doc_id)
        if not mine:
            return None
        for other in of:
            if other != doc_id and jaccard(mine, self._shingles.get(other, frozenset())) >= self.threshold:
                return other
        return None
