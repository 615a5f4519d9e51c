"""The request and response models of the HTTP API (what /docs shows).

The result shapes are the frozen dataclasses of `assistant.models` and `index.common.types`;
pydantic validates and documents them as they are, so the API cannot drift from the Python API.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from assistant.config import MAX_K
from index.common.types import DocumentInfo, IndexingInfo, Passage

MAX_FILTER_ITEMS = 1000  # entries of `sources` / `doc_ids`
MAX_HISTORY_TURNS = 100


K = Annotated[StrictInt, Field(ge=1, le=MAX_K, description=f"passages to use, 1 to {MAX_K}")]
Day = Annotated[str, Field(description="a date YYYY-MM-DD", examples=["2022-01-05"])]


class ErrorOut(BaseModel):
    """Every error response."""

    error: str


class HealthOut(BaseModel):
    """`GET /health`."""

    status: Literal["ok"]
    documents: int
    chunks: int


class Filters(BaseModel):
    """Optional restrictions on which passages may be used."""

    as_of: Day | None = Field(None, description="ignore reports published after this date")
    sources: list[str] = Field(default_factory=list, max_length=MAX_FILTER_ITEMS,
                               description="only these sources")
    doc_ids: list[str] = Field(default_factory=list, max_length=MAX_FILTER_ITEMS,
                               description="only these documents")
    date_from: Day | None = None
    date_to: Day | None = None

    def filter_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of `Assistant.retrieve`/`ask` other than the text and k."""
        return {"as_of": self.as_of, "sources": self.sources, "doc_ids": self.doc_ids,
                "date_from": self.date_from, "date_to": self.date_to}


class RetrieveIn(Filters):
    """`POST /v1/retrieve`."""

    query: str = Field(..., min_length=1, examples=["Who did the Pentagon blame?"])
    k: K | None = None


class TurnIn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class AskIn(Filters):
    """`POST /v1/ask`."""

    question: str = Field(..., min_length=1, examples=["Who did the Pentagon blame?"])
    history: list[TurnIn] | None = Field(None, max_length=MAX_HISTORY_TURNS,
                                         description="earlier turns; with a conversation, instead of its saved ones")
    k: K | None = None
    stream: StrictBool = Field(False, description="answer as server-sent events: `delta`s, then `answer`")
    conversation: str | None = Field(None, min_length=1, max_length=64,
                                     description='save the turn in this conversation of yours, or "new"')


class PassagesOut(BaseModel):
    """`POST /v1/retrieve`."""

    passages: list[Passage]


class DocumentsOut(BaseModel):
    """`GET /v1/documents`."""

    documents: list[DocumentInfo]
    # Reports being indexed now (a long one, written in batches): `chunks` stored so far, its
    # text done up to `indexed_chars` of `chars`. Listed here, not in `documents`, until indexed.
    indexing: list[IndexingInfo] = []


class EvalOut(BaseModel):
    """`POST /v1/evals`, `GET /v1/evals/{id}`: a run's status (`results` as results.json, once done)."""

    id: str
    status: Literal["running", "done", "failed"]
    done: int = Field(description="questions answered so far")
    total: int = Field(description="questions of the test set that will be asked")
    testset: str
    k: int
    llm: str
    created: str
    by: str | None = Field(None, description="who started the run")
    finished: str | None = None
    elapsed_s: float
    error: str | None = None
    warnings: list[str] = Field(default_factory=list,
                                description="evidence files the index lacks, by test-set line")
    results: dict[str, Any] | None = None


class EvalsOut(BaseModel):
    """`GET /v1/evals`."""

    evals: list[EvalOut]


class ConversationOut(BaseModel):
    """A conversation as listed."""

    id: str
    title: str
    created: str
    updated: str
    turns: int


class ConversationsOut(BaseModel):
    """`GET /v1/conversations`: the caller's own, newest first."""

    conversations: list[ConversationOut]


class SavedTurnOut(BaseModel):
    """One saved turn: the question, the standalone question it became, the whole Answer."""

    turn: int
    question: str
    standalone: str
    answer: dict[str, Any]
    feedback: dict[str, Any] | None = None


class ConversationTurnsOut(BaseModel):
    """`GET /v1/conversations/{id}`."""

    id: str
    title: str
    created: str
    updated: str
    turns: list[SavedTurnOut]


class TitleIn(BaseModel):
    """`PATCH /v1/conversations/{id}`."""

    title: str = Field(..., min_length=1, max_length=200)


class FeedbackIn(BaseModel):
    """`POST /v1/feedback`: thumbs up or down on a saved turn, with an optional comment."""

    conversation: str = Field(..., min_length=1, max_length=64)
    turn: StrictInt = Field(..., ge=1)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)
