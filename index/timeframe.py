"""Relative dates in questions ("last week", "on Monday", "in May") resolved against `as_of`.

`read(question, as_of)` finds the first time expression and returns the `Timeframe` it
means (an inclusive range of days, with the phrase that named it) and the words to search. Retrieval uses the range as a
preference (reports published within it, or up to a day after it, rank higher), not as a
filter: a report can look back on an earlier event.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a few": 3, "few": 3, "several": 5}
_MONTH_RE = "|".join(MONTHS) + r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
_COUNT_RE = r"\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several"


@dataclass(frozen=True)
class Timeframe:
    """An inclusive range of days named by `phrase`; either end may be open (None)."""

    start: date | None
    end: date | None
    phrase: str


def _month_range(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _month_number(word: str) -> int:
    word = word.lower().rstrip(".")
    return MONTHS.index(word) + 1 if word in MONTHS else _MONTH_ABBR[word[:4] if word == "sept" else word[:3]]


def _last_weekday(as_of: date, weekday: int, strictly_before: bool = False) -> date:
    """The most recent `weekday` on or before `as_of` (strictly before when asked)."""
    back = (as_of.weekday() - weekday) % 7
    if back == 0 and strictly_before:
        back = 7
    return as_of - timedelta(days=back)


def _previous_month(day: date) -> tuple[int, int]:
    return (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word.lower()]


def _span(as_of: date, unit: str, n: int) -> timedelta:
    unit = unit.lower().rstrip("s")
    return timedelta(days={"day": n, "week": 7 * n, "month": 30 * n, "year": 365 * n}[unit])


def _since(as_of: date, unit: str, n: int) -> date:
    """The first day of "the past `n` `unit`s": clamped to the first day of the calendar when
    that reaches back before it ("the past 5000 years" means everything up to `as_of`)."""
    try:
        return as_of - _span(as_of, unit, n)
    except OverflowError:
        return date.min


# Each rule: a pattern and a function of (match, as_of) -> (start, end). Tried in order; the
# earliest match in the question wins, longer rules first at the same position.
def _rules() -> list[tuple[re.Pattern[str], object]]:
    flags = re.IGNORECASE

    def week_of(day: date) -> tuple[date, date]:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)

    def rel_month(m: re.Match[str], as_of: date) -> tuple[date, date]:
        month = _month_number(m["month"])
        year = int(m["year"]) if m["year"] else as_of.year - (month > as_of.month)
        return _month_range(year, month)

    def explicit_day(m: re.Match[str], as_of: date) -> tuple[date, date]:
        month = _month_number(m["month"])
        day = int(m["day"])
        year = int(m["year"]) if m["year"] else as_of.year
        found = date(year, month, day)
        if not m["year"] and found > as_of:
            found = date(year - 1, month, day)
        return found, found

    return [
        (re.compile(r"\bday before yesterday\b", flags),
         lambda m, d: (d - timedelta(days=2),) * 2),
        (re.compile(r"\b(today|tonight|this morning|this afternoon|this evening)\b", flags),
         lambda m, d: (d, d)),
        (re.compile(r"\b(yesterday|last night)\b", flags),
         lambda m, d: (d - timedelta(days=1),) * 2),
        (re.compile(rf"\b(?:in |over |during )?(?:the )?(?:last|past) (?P<n>{_COUNT_RE}) "
                    r"(?P<unit>days?|weeks?|months?|years?)\b", flags),
         lambda m, d: (_since(d, m["unit"], _count(m["n"])), d)),
        (re.compile(rf"\b(?P<n>{_COUNT_RE}) (?P<unit>days?|weeks?|months?|years?) ago\b", flags),
         lambda m, d: ((d - _span(d, m["unit"], _count(m["n"])) - timedelta(days=3)),
                       (d - _span(d, m["unit"], _count(m["n"])) + timedelta(days=3)))),
        (re.compile(r"\bthis week\b", flags), lambda m, d: (week_of(d)[0], d)),
        (re.compile(r"\b(last|past|previous) week\b", flags),
         lambda m, d: week_of(d - timedelta(days=7))),
        (re.compile(r"\bthis month\b", flags), lambda m, d: (date(d.year, d.month, 1), d)),
        (re.compile(r"\b(last|past|previous) month\b", flags),
         lambda m, d: _month_range(*_previous_month(d))),
        (re.compile(r"\bthis year\b", flags), lambda m, d: (date(d.year, 1, 1), d)),
        (re.compile(r"\b(last|past|previous) year\b", flags),
         lambda m, d: (date(d.year - 1, 1, 1), date(d.year - 1, 12, 31))),
        (re.compile(rf"\b(?:on |since )?(?:(?P<wd>{'|'.join(WEEKDAYS)}),? )?(?P<month>{_MONTH_RE})\.? "
                    r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:,? (?P<year>(?:19|20)\d\d))?\b", flags),
         explicit_day),
        (re.compile(rf"\blast (?P<wd>{'|'.join(WEEKDAYS)})\b", flags),
         lambda m, d: (_last_weekday(d, WEEKDAYS.index(m["wd"].lower()), True),) * 2),
        (re.compile(rf"\b(?:on |this |since )?(?P<wd>{'|'.join(WEEKDAYS)})\b", flags),
         lambda m, d: (_last_weekday(d, WEEKDAYS.index(m["wd"].lower())),) * 2),
        (re.compile(rf"\b(?:in|during|since|last|this) (?:early |late |mid-?)?(?P<month>{'|'.join(MONTHS)})"
                    r"(?: (?P<year>(?:19|20)\d\d))?\b", flags),
         rel_month),
        (re.compile(r"\b(?:in|during|since|of) (?P<year>(?:19|20)\d\d)\b", flags),
         lambda m, d: (date(int(m["year"]), 1, 1), date(int(m["year"]), 12, 31))),
    ]


_RULES = _rules()
_NAMED = re.compile(rf"\b({'|'.join(WEEKDAYS)}|{_MONTH_RE})\b|\d{{4}}", re.IGNORECASE)
_SINCE = re.compile(r"^since\b", re.IGNORECASE)


def _first(question: str, as_of: date) -> tuple[Timeframe, tuple[int, int]] | None:
    """The first time expression in `question` and where it is, or None."""
    best: tuple[int, int, Timeframe] | None = None
    for pattern, rule in _RULES:
        for m in pattern.finditer(question):
            try:
                start, end = rule(m, as_of)  # type: ignore[operator]
            except (ValueError, KeyError, OverflowError):
                # "February 30" is not a date; "last week" of 0001-01-03 lies before the
                # calendar's first day: neither names a time frame.
                continue
            phrase = m.group(0).strip()
            if _SINCE.match(phrase):
                end = as_of
            if start > as_of:
                continue
            candidate = (m.start(), -(m.end() - m.start()), Timeframe(start, min(end, as_of), phrase))
            if best is None or candidate[:2] < best[:2]:
                best = candidate
            break
    if best is None:
        return None
    span_start = best[0]
    return best[2], (span_start, span_start - best[1])


def read(question: str, as_of: date) -> tuple[Timeframe | None, str]:
    """The time range the question refers to, relative to `as_of` (None when it names none),
    and the question as retrieval searches it: without a purely relative time expression
    ("... last week?" -> "...?"), as a report rarely says "last week" about its own news.
    Expressions naming a day, month or year are kept: reports say "on Monday" and "in May" too."""
    found = _first(question, as_of)
    if found is None:
        return None, question
    frame, (a, b) = found
    if _NAMED.search(frame.phrase):
        return frame, question
    stripped = f"{question[:a]} {question[b:]}"
    stripped = re.sub(r"\s+([?.!,])", r"\1", re.sub(r"\s{2,}", " ", stripped)).strip(" ,;:")
    return frame, (stripped if re.search(r"\w", stripped) else question)
