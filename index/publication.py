"""Finding a report's publication date and where it came from: given, metadata, a dateline, the path."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal, Sequence

from index.common.dates import try_date

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

# Each date form once, as pattern text: compiled alone to find dates anywhere (`parse_date`) and
# composed into the dateline patterns below.
_ISO_P = r"(?<!\d)(\d{4})[-/_.](\d{1,2})[-/_.](\d{1,2})(?!\d)"
_MONTH_FIRST_P = rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
_DAY_FIRST_P = rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+(\d{{4}})\b"
_ISO = re.compile(_ISO_P)
_COMPACT = re.compile(r"(?<!\d)(20\d{2}|19\d{2})(\d{2})(\d{2})(?!\d)")
_MONTH_FIRST = re.compile(_MONTH_FIRST_P, re.IGNORECASE)
_DAY_FIRST = re.compile(_DAY_FIRST_P, re.IGNORECASE)

# --- datelines -----------------------------------------------------------------------------
# A date in a report's text is its publication date only where it reads as a dateline: at the
# start of one of the first lines, alone or with the words that introduce a dateline. A date in a
# sentence ("The storm hit on March 3, 2023") or a headline ("Ten Things You Need to Know Today:
# 23 June 2022") is the date of an event, not of the report.
DATELINE_CHARS = 300  # only lines that start this near the top
_WEEKDAY = (r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday"
            r"|mon|tues?|wed|thu(?:rs?)?|fri|sat|sun)\.?,?\s+")
_DATE = (rf"(?P<date>(?i:{_WEEKDAY})?"
         rf"(?:{_ISO_P}|(?i:{_MONTH_FIRST_P})|(?i:{_DAY_FIRST_P})))")
# "10:32 AM", "at 9.15 p.m. EST", "T10:00:00Z": what may follow the date on its line.
_TIME = (r"(?:(?:T|,?\s+(?i:at\s+)?)\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:\.\d+)?"
         r"(?:\s*(?i:[ap]\.?m\.?))?(?:\s*(?:Z|[A-Z]{2,4}|[+-]\d{2}:?\d{2}))?)?")
_DASH = r"\s*(?:[\u2014\u2013|]|--?(?=\s))"  # em dash, en dash, bar, or a spaced hyphen
# A place as wire services write it: up to four capitalised words, then up to two more parts
# after commas ("SPRINGFIELD, Ill.", "KYIV, Ukraine").
_PLACE = (r"[A-Z][\w.'\u2019-]*(?:\s[A-Z][\w.'\u2019-]*){0,3}"
          r"(?:,\s[A-Z][\w.'\u2019-]*(?:\s[A-Z][\w.'\u2019-]*)?){0,2}")
_AGENCY = r"\s*\([^()\n]{1,40}\)"  # "(Reuters)", "(AP)"
_DATELINES = tuple(
    re.compile(pattern)
    for pattern in (
        # a line holding only a date: "March 4, 2024", "2024-03-04", "Mon 4 Mar 2024"
        rf"{_DATE}{_TIME}\.?$",
        # "March 4, 2024 \u2014 The council ..."
        rf"{_DATE}{_TIME}{_DASH}",
        # "Published: 2024-03-04", "Updated March 4, 2024 10:32 AM", "Posted on 4 March 2024"
        rf"(?i:(?:first\s+|last\s+)?(?:published|updated|posted|modified|dated?)(?:\s+on)?)"
        rf"\s*:?\s*{_DATE}",
        # "By Jane Doe | March 4, 2024"
        rf"(?i:by)\s+[^|\u2022\u00b7\u2014\u2013\n]{{1,80}}?\s*[|\u2022\u00b7\u2014\u2013]\s*{_DATE}",
        # "WASHINGTON, March 4, 2024 (Reuters) -"
        rf"{_PLACE},\s+{_DATE}{_TIME}(?:{_AGENCY})?{_DASH}",
        # "WASHINGTON (AP) \u2014 March 4, 2024"
        rf"{_PLACE}{_AGENCY}{_DASH}\s*{_DATE}",
    )
)


def dateline_date(text: str) -> str | None:
    """The date of a dateline among the first lines of `text`, as YYYY-MM-DD, else None.

    Only lines that start within DATELINE_CHARS are read, and only a date that opens a line the
    way a dateline does counts (`_DATELINES`).
    """
    offset = 0
    for line in text[: DATELINE_CHARS + 200].splitlines():
        if offset >= DATELINE_CHARS:
            break
        offset += len(line) + 1
        # Markdown emphasis or a quote marker around a dateline: "*Published 2024-03-04*".
        line = line.strip().strip("*_>").strip()
        for pattern in _DATELINES:
            match = pattern.match(line)
            found = parse_date(match["date"]) if match else None
            if found:
                return found
    return None


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


def iso_date(value: str) -> str | None:
    """`value` (spaces around it aside) if it is exactly a real day written YYYY-MM-DD, else None."""
    day = try_date(value.strip())
    return day.isoformat() if day else None


# Where a report's date came from, stored next to it (`date_source`).
DateSource = Literal["given", "metadata", "dateline", "path"]


def find_publication_date(
    text: str,
    paths: Sequence[str] = (),
    metadata_date: str | None = None,
    given: str | None = None,
) -> tuple[str | None, DateSource | None]:
    """A report's publication date (YYYY-MM-DD) and where it came from, or (None, None).

    The first found of: `given` (the user's YYYY-MM-DD), a date in the file's own metadata, a
    dateline in `text`, a date in one of `paths` (file path, URL), in that order.
    """
    # Priority, strongest word first: the user knows best when they say so; metadata is the
    # publisher's or author's statement; a dateline is the article's own. A date in a path or
    # URL is the weakest: often the publication day, but as often the day a file was saved,
    # exported or renamed, and a strict dateline is good evidence against it.
    if given:
        return given, "given"
    found = parse_date(metadata_date) if metadata_date else None
    if found:
        return found, "metadata"
    found = dateline_date(text)
    if found:
        return found, "dateline"
    for path in paths:
        found = date_from_path(path)
        if found:
            return found, "path"
    return None, None
