"""What a format's reader gives back (`_Extracted`), and the title helpers that the readers and
`load_file` share."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from index.loaders.frontmatter import FRONT_MATTER_MAX_CHARS

TITLE_MAX_CHARS = 90
# A title is read from a first line's first characters: room for the longest front matter title.
FIRST_LINE_MAX_CHARS = 2 * FRONT_MATTER_MAX_CHARS
# Where `str.splitlines` breaks a line, and the text's end.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]|\Z")


@dataclass(frozen=True)
class _Extracted:
    text: str
    title: str | None = None
    date: str | None = None


def _shorten(title: str) -> str:
    title = " ".join(title.split())
    if len(title) <= TITLE_MAX_CHARS:
        return title
    cut = title[:TITLE_MAX_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _title_from_text(text: str, path: Path) -> str:
    line = _first_line(text)
    return _shorten(line) if line else path.stem


def _first_line(text: str) -> str:
    """The first line of `text` with words, without Markdown heading marks, spaces collapsed, of
    at most `FIRST_LINE_MAX_CHARS`.

    Lines are found one at a time (where `str.splitlines` breaks) and only a line's first
    characters split into words: `splitlines` and `split` over a single-line report of tens of
    megabytes would make millions of strings, hundreds of megabytes, for a title of a few words.
    """
    start = 0
    for brk in _LINE_BREAK.finditer(text):
        line = text[start : min(brk.start(), start + FIRST_LINE_MAX_CHARS)]
        words = " ".join(line.strip().lstrip("#").split())
        if words:
            return words
        start = brk.end()
    return ""
