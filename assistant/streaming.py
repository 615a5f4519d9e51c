"""An answer as it is produced: text deltas, then one final object (a Reply or an Answer)."""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from index.common.errors import AssistantError

T = TypeVar("T")


class AnswerStream(Generic[T]):
    """Iterate for the text deltas; `result()` runs what is left and returns the final object.

    Wraps a generator that yields `str` deltas and, last, one `final_type` object. The one way
    to drain a stream, for every caller (Python API, HTTP, CLI, UI, evaluation).
    """

    def __init__(self, events: Iterator[str | T], final_type: type[T]) -> None:
        self._events = events
        self._final_type = final_type
        self._final: T | None = None

    def __iter__(self) -> Iterator[str]:
        for event in self._events:
            if isinstance(event, self._final_type):
                self._final = event
            else:
                yield event

    def result(self) -> T:
        """The final object, after draining any deltas not yet read."""
        for _ in self:
            pass
        if self._final is None:
            raise AssistantError("the answerer produced no answer")
        return self._final
