"""The news views of docs/interface.md: `POST /v1/timeline` (the reports about a topic in date
order, each with its cited sentence) and `GET /v1/documents/{doc_id}/summary` (a report's
summary in its own sentences, each cited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictInt

from assistant.api.auth import request_user
from assistant.api.schemas import Day, ErrorOut
from assistant.config import MAX_K, TIMELINE_K
from assistant.core import Assistant
from assistant.models import Citation


class TimelineIn(BaseModel):
    """`POST /v1/timeline`."""

    topic: str = Field(..., min_length=1, description="a name, an event or a question",
                       examples=["the Port Vale ferry strike"])
    date_from: Day | None = Field(None, description="only reports published from this date")
    date_to: Day | None = Field(None, description="only reports published up to this date")
    as_of: Day | None = Field(None, description="as known on this date: later reports left out")
    k: Annotated[StrictInt, Field(ge=1, le=MAX_K)] | None = Field(
        None, description=f"most events, 1 to {MAX_K} (default {TIMELINE_K})")


class TimelineEventOut(BaseModel):
    """One report about the topic."""

    date: str
    doc_id: str
    title: str
    source: str
    sentence: Citation = Field(description="what the report adds about the topic: an exact span of it")
    also_in: list[str] = Field(description="reports that repeat this one (wire copies, the story rewritten)")


class TimelineOut(BaseModel):
    """`POST /v1/timeline`: events oldest first."""

    events: list[TimelineEventOut]
    undated: int = Field(description="reports about the topic left out for want of a date")
    message: str | None = Field(None, description="why there are no events (only then)")


class SummaryOut(BaseModel):
    """`GET /v1/documents/{doc_id}/summary`."""

    doc_id: str
    summary: str = Field(description="the report's key sentences with [n] markers")
    citations: list[Citation]


def add_news_routes(router: APIRouter, assistant: Assistant) -> None:
    """Add `POST /timeline` and `GET /documents/{doc_id}/summary` to the /v1 `router`."""

    @router.post("/timeline", response_model=TimelineOut, tags=["questions"])
    def timeline(request: Request, body: TimelineIn) -> Any:
        """The reports about `topic`, oldest first: each with its date and the sentence that
        says what it adds (cited), reports repeating it in `also_in`. Undated reports about it
        are counted in `undated`; with no events, `message` says so."""
        request_user(request).require("ask", "read timelines")
        found = assistant.timeline(body.topic, date_from=body.date_from, date_to=body.date_to,
                                   as_of=body.as_of, k=body.k)
        return JSONResponse(found.to_dict())  # as is: `message` only when there are no events

    @router.get("/documents/{doc_id}/summary", response_model=SummaryOut, tags=["documents"],
                responses={404: {"model": ErrorOut}})
    def summary(request: Request, doc_id: str) -> dict[str, Any]:
        """The report's few key sentences, each cited; 404 when the id is unknown."""
        request_user(request).require("ask", "read summaries")
        return assistant.summary(doc_id).to_dict()
