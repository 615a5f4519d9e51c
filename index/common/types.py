"""Results shared by both layers, in the shapes of docs/interface.md: Passage, DocumentInfo, IngestReport
(and IndexingInfo: a report being indexed, as `docs list` and `GET /v1/documents` show it), and
Retrieved: passages with what an answerer needs beside them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np


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
        """The interface's JSON shape."""
        return asdict(self)


@dataclass(frozen=True)
class Retrieved:
    """What retrieval hands an answerer: the passages, best first, the headline of each of
    their reports that has one (by report id, as a citable passage) and the passages' stored
    vectors (by chunk id). A test may hand in passages alone."""

    passages: Sequence[Passage]
    headlines: Mapping[str, Passage] = field(default_factory=dict)
    vectors: Mapping[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class DocumentInfo:
    """What the index knows about one report."""

    doc_id: str
    title: str
    source: str
    date: str | None
    # Where `date` came from: "given", "metadata", "dateline", "path" (index.publication.DateSource),
    # None when there is no date. Keyword-only so positional construction stays as it was.
    date_source: str | None = field(default=None, kw_only=True)
    chunks: int
    chars: int
    # Other files whose text is exactly this report's (a copy under another name): indexed as
    # this report, so evidence naming them and `docs list` both find it.
    aliases: tuple[str, ...] = field(default=(), kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape used by `docs list --json` and `GET /v1/documents`."""
        return asdict(self)


@dataclass(frozen=True)
class IndexingInfo(DocumentInfo):
    """A report being indexed (written in several batches): `chunks` are those stored so far,
    covering its text up to `indexed_chars` of `chars`."""

    indexed_chars: int = field(kw_only=True)

    @classmethod
    def of(cls, info: DocumentInfo, indexed_chars: int) -> "IndexingInfo":
        """`info` (its chunks so far) indexed up to `indexed_chars`."""
        return cls(**asdict(info), indexed_chars=indexed_chars)


@dataclass
class IngestReport:
    """The outcome of one ingest call, in the interface's `--json` shape."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    # Files whose text is exactly an indexed report's: `{"path", "of"}` (that report's doc_id);
    # each is recorded as an alias of that report.
    duplicates: list[dict[str, str]] = field(default_factory=list)
    documents: int = 0
    chunks: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return asdict(self)
