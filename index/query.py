"""One question as retrieval and the answerer see it, worked out once per question."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from index.records import ChunkFilter


@dataclass(frozen=True)
class Query:
    """A question with everything derived from it: the words to search (without a relative
    time phrase such as "last week", which reports rarely use about their own news), their
    vector, the day it is asked (`as_of`), the time frame it names, and the user's filters.

    Built once (`Assistant.query`) and handed to the retriever and the answerer, so neither
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
