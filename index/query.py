"""One question as retrieval and the answerer see it, worked out once per question."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import numpy as np

from index import timeframe
from index.common.errors import InputError
from index.records import ChunkFilter

MAX_QUERY_CHARS = 2000


@dataclass(frozen=True)
class Query:
    """A question with everything derived from it: the words to search (without a relative
    time phrase such as "last week", which reports rarely use about their own news), their
    vector, the day it is asked (`as_of`), the time frame it names, and the user's filters.

    Built once (`Query.build`) and handed to the retriever and the answerer, so neither
    parses the question or embeds it again.
    """

    text: str  # the question as asked (after condensing a follow-up)
    search_text: str  # what is searched and embedded
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)  # of search_text
    as_of: date | None = None
    window_start: date | None = None  # the question's time frame, inclusive; either end open
    window_end: date | None = None
    chunk_filter: ChunkFilter = ChunkFilter()

    @classmethod
    def build(
        cls, text: str, embed: Callable[[str], np.ndarray], as_of: date | None = None,
        chunk_filter: ChunkFilter = ChunkFilter(),
    ) -> "Query":
        """`text` with its relative time phrase resolved against `as_of` (default: today) and
        left out of the words searched, which `embed` turns into the query vector."""
        frame, search_text = timeframe.read(text, as_of or date.today())
        return cls(
            text=text, search_text=search_text, vector=embed(search_text), as_of=as_of,
            window_start=frame.start if frame else None, window_end=frame.end if frame else None,
            chunk_filter=chunk_filter,
        )

    @classmethod
    def plain(cls, text: str, vector: np.ndarray | None = None) -> "Query":
        """A query of `text` alone: no time preference, no filter."""
        return cls(text=text, search_text=text, vector=vector)

    @property
    def has_window(self) -> bool:
        """True when the question names a time frame."""
        return self.window_start is not None or self.window_end is not None

    def _slack_end(self, slack_days: int) -> date | None:
        """The frame's last day plus the slack, no later than the calendar's last day."""
        if self.window_end is None:
            return None
        if (date.max - self.window_end).days < slack_days:
            return date.max
        return self.window_end + timedelta(days=slack_days)

    def in_window(self, day: date, slack_days: int) -> bool:
        """True when `day` falls in the time frame or up to `slack_days` after it."""
        end = self._slack_end(slack_days)
        return (self.window_start is None or day >= self.window_start) and (end is None or day <= end)


def check_text(value: Any, field: str) -> str:
    """`value` stripped; InputError naming `field` when it is empty, not a string or too long."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{field} must be a non-empty string")
    if len(value) > MAX_QUERY_CHARS:
        raise InputError(f"{field} is {len(value)} characters; the limit is {MAX_QUERY_CHARS}")
    return value.strip()
