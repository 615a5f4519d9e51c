"""The chain's typed results, in the shapes of docs/interface.md: Citation, Answer, and a conversation Turn."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from index.common.errors import InputError
from index.common.types import Passage


@dataclass(frozen=True)
class Citation:
    """The span of a report that supports a claim marked `[n]` in an answer."""

    n: int
    doc_id: str
    title: str
    source: str
    date: str | None
    start: int
    end: int
    quote: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class Short:
    """The answer itself in a few words: an exact span (document offsets) of the report that
    citation `[n]` quotes, inside its quote."""

    text: str
    n: int
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """An answer whose `[n]` markers each have exactly one citation, all of them used."""

    answer: str
    refused: bool
    citations: list[Citation] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)  # times only, in ms
    stats: dict[str, float] = field(default_factory=dict)  # the answerer's numbers
    short: Short | None = None

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return {
            "answer": self.answer,
            "refused": self.refused,
            "short": self.short.to_dict() if self.short else None,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": dict(self.timings_ms),
            "stats": dict(self.stats),
        }


@dataclass(frozen=True)
class Turn:
    """One message of a conversation."""

    role: str  # "user" or "assistant"
    content: str

    @classmethod
    def from_dict(cls, data: Any) -> "Turn":
        """Parse `{"role", "content"}`, naming the field that is wrong."""
        if not isinstance(data, dict):
            raise InputError("history: each turn must be an object with 'role' and 'content'")
        role, content = data.get("role"), data.get("content")
        if role not in ("user", "assistant"):
            raise InputError(f"history: role must be 'user' or 'assistant', got {role!r}")
        if not isinstance(content, str):
            raise InputError("history: content must be a string")
        return cls(role=role, content=content)
