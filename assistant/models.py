"""Typed results that match the shapes of SPEC.md: Passage, Citation, Answer."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `text == document_text[start:end]`."""

    doc_id: str
    title: str
    source: str
    date: str | None
    chunk_id: str
    start: int
    end: int
    text: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """The SPEC's JSON shape."""
        return asdict(self)


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
        """The SPEC's JSON shape."""
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

    def to_dict(self) -> dict[str, Any]:
        """The SPEC's JSON shape."""
        return {
            "answer": self.answer,
            "refused": self.refused,
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
        from assistant.errors import InputError

        if not isinstance(data, dict):
            raise InputError("history: each turn must be an object with 'role' and 'content'")
        role, content = data.get("role"), data.get("content")
        if role not in ("user", "assistant"):
            raise InputError(f"history: role must be 'user' or 'assistant', got {role!r}")
        if not isinstance(content, str):
            raise InputError("history: content must be a string")
        return cls(role=role, content=content)


@dataclass(frozen=True)
class DocumentInfo:
    """What the index knows about one report."""

    doc_id: str
    title: str
    source: str
    date: str | None
    # Where `date` came from: "given", "metadata", "dateline", "path" (index.dates.DateSource),
    # None when there is no date. Keyword-only so positional construction stays as it was.
    date_source: str | None = field(default=None, kw_only=True)
    chunks: int
    chars: int

    def to_dict(self) -> dict[str, Any]:
        """JSON shape used by `docs list --json` and `GET /v1/documents`."""
        return asdict(self)


@dataclass
class IngestReport:
    """The outcome of one ingest call, in the SPEC's `--json` shape."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The SPEC's JSON shape."""
        return asdict(self)
