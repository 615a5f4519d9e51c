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
    standalone: str | None = None  # the question as retrieval saw it (a follow-up condensed)
    conversation: str | None = None  # the saved conversation this answer is a turn of
    turn: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape (with `conversation` and `turn` when it was saved)."""
        out = {
            "answer": self.answer,
            "refused": self.refused,
            "short": self.short.to_dict() if self.short else None,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [p.to_dict() for p in self.passages],
            "timings_ms": dict(self.timings_ms),
            "stats": dict(self.stats),
        }
        if self.conversation is not None:
            out.update(conversation=self.conversation, turn=self.turn)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Answer":
        """An Answer back from its JSON shape (a saved turn's)."""
        return cls(
            answer=data["answer"], refused=data["refused"],
            citations=[Citation(**c) for c in data.get("citations", [])],
            passages=[Passage(**p) for p in data.get("passages", [])],
            timings_ms=dict(data.get("timings_ms", {})), stats=dict(data.get("stats", {})),
            short=Short(**data["short"]) if data.get("short") else None,
            conversation=data.get("conversation"), turn=data.get("turn"),
        )


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
