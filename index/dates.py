"""Finding a report's publication date: metadata, front matter, a dateline, or the path."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))

_ISO = re.compile(r"(?<!\d)(\d{4})[-/_.](\d{1,2})[-/_.](\d{1,2})(?!\d)")
_COMPACT = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})(\d{2})(?!\d)")
_MONTH_FIRST = re.compile(
    rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b", re.IGNORECASE
)
_DAY_FIRST = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b", re.IGNORECASE
)

# A dateline sits at the top of a report; a date further down is usually about an event.
DATELINE_CHARS = 300


def _valid(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_date(text: str) -> str | None:
    """The first date written in `text` (ISO, 'January 5, 2022', '5 Jan 2022'), as YYYY-MM-DD."""
    candidates: list[tuple[int, str]] = []
    for m in _ISO.finditer(text):
        iso = _valid(int(m[1]), int(m[2]), int(m[3]))
        if iso:
            candidates.append((m.start(), iso))
    for m in _MONTH_FIRST.finditer(text):
        iso = _valid(int(m[3]), _MONTHS[m[1].lower()], int(m[2]))
        if iso:
            candidates.append((m.start(), iso))
    for m in _DAY_FIRST.finditer(text):
        iso = _valid(int(m[3]), _MONTHS[m[2].lower()], int(m[1]))
        if iso:
            candidates.append((m.start(), iso))
    return min(candidates)[1] if candidates else None


def date_from_path(path: str) -> str | None:
    """A date in a file path or URL: `2022/01/05/`, `2022-01-05-story.html`, `20220105`."""
    found = parse_date(path)
    if found:
        return found
    m = _COMPACT.search(path)
    return _valid(int(m[1]), int(m[2]), int(m[3])) if m else None


def find_publication_date(
    metadata_date: str | None, text: str, path: str
) -> str | None:
    """The first of: a date from the file's own metadata, a dateline, a date in the path."""
    if metadata_date:
        found = parse_date(metadata_date)
        if found:
            return found
    return parse_date(text[:DATELINE_CHARS]) or date_from_path(path)
