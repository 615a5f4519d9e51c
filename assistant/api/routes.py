"""The /v1 routes of docs/interface.md, answers streamed as server-sent events.

Every route that calls the assistant is a plain `def` (or hands its work to the threadpool):
a long ingest or answer (torch, Chroma) never blocks the event loop.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Iterator

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.api.auth import request_user
from assistant.api.conversations import add_conversation_routes
from assistant.api.evals import add_eval_routes
from assistant.api.news import add_news_routes
from assistant.api.schemas import AskIn, DocumentsOut, ErrorOut, PassagesOut, RetrieveIn
from assistant.core import Assistant
from assistant.models import Answer
from assistant.saved_chat import ask_saved
from assistant.streaming import AnswerStream
from assistant.uploads import (
    UploadTooLargeError,
    check_upload_type,
    delete_report,
    ingest_uploads,
    safe_upload_name,
    save_uploads,
)
from index.common.dates import parse_day
from index.common.errors import AssistantError, InputError, NotFoundError
from index.common.types import DocumentInfo, IngestReport

log = logging.getLogger(__name__)

MAX_UPLOAD_FILES = 20  # files in one POST /v1/documents


def sse_event(event: str, data: dict[str, Any]) -> str:
    """One server-sent event; JSON has no raw newlines, so `data` is a single line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse_stream(first: str | None, deltas: Iterator[str], stream: AnswerStream[Answer]) -> Iterator[str]:
    """`delta` events for the text, then one `answer`; an `error` event if it fails midway."""
    try:
        if first is not None:
            yield sse_event("delta", {"text": first})
        for delta in deltas:
            yield sse_event("delta", {"text": delta})
        yield sse_event("answer", stream.result().to_dict())
    except AssistantError as exc:
        yield sse_event("error", {"error": str(exc)})
    except Exception:  # the status line is already sent: report in-band, never a trace
        log.exception("streamed answer failed")
        yield sse_event("error", {"error": "internal error; see the server log"})


def v1_router(assistant: Assistant) -> APIRouter:
    """The /v1 routes of docs/interface.md, serving `assistant`."""
    router = APIRouter(
        prefix="/v1",  # the caller is known before this, by Gate (assistant/api/auth.py)
        responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut},
                   413: {"model": ErrorOut}},
    )

    @router.post("/retrieve", response_model=PassagesOut, tags=["questions"])
    def retrieve(request: Request, body: RetrieveIn) -> dict[str, Any]:
        """The `k` passages most relevant to `query`, best first."""
        request_user(request).require("ask", "retrieve passages")
        passages = assistant.retrieve(body.query, k=body.k, **body.filter_kwargs())
        return {"passages": [p.to_dict() for p in passages]}

    @router.post(
        "/ask", response_model=Answer, tags=["questions"],
        responses={200: {"content": {"text/event-stream": {}},
                         "description": "Answer JSON, or with stream=true server-sent events: "
                                        "`delta` {text}..., then `answer` {Answer}"}},
    )
    async def ask(request: Request, body: AskIn) -> Any:
        """An answer citing the reports, or a refusal; `stream: true` for server-sent events.
        With `conversation` (an id of yours, or "new") the turn is saved there, the Answer says
        where (`conversation`, `turn`), and the history is its saved turns unless given."""
        user = request_user(request)
        user.require("ask", "ask questions")
        history = None if body.history is None else [t.model_dump() for t in body.history]
        if body.conversation is not None:
            user.require("conversations", "keep conversations")
            stream = await run_in_threadpool(ask_saved, assistant, user.name, body.conversation, body.question,
                                             history, k=body.k, **body.filter_kwargs())
        else:
            stream = assistant.ask_stream(body.question, history, k=body.k, **body.filter_kwargs())
        deltas = iter(stream)
        # The first delta is pulled before any byte is sent, so bad input is still a 400.
        first = await run_in_threadpool(next, deltas, None)
        if body.stream:
            return StreamingResponse(
                _sse_stream(first, deltas, stream), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = await run_in_threadpool(stream.result)
        return JSONResponse(answer.to_dict())  # as is: `conversation` and `turn` only when saved

    @router.get("/documents", response_model=DocumentsOut, tags=["documents"])
    def documents(request: Request) -> dict[str, Any]:
        """Every indexed report, and those being indexed now."""
        request_user(request).require("documents.read", "list reports")
        return {"documents": [d.to_dict() for d in assistant.documents()],
                "indexing": [d.to_dict() for d in assistant.indexing()]}

    @router.post(
        "/documents", response_model=IngestReport, tags=["documents"],
        responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
    )
    def upload(
        request: Request,
        files: Annotated[list[UploadFile], File(description="one or more reports")],
        date: Annotated[str | None, Form(
            description="publication date YYYY-MM-DD of every file of this request "
                        "(date_source `given`; a file's sidecar beats it)",
            examples=["2024-03-04"])] = None,
    ) -> dict[str, Any]:
        """Upload and index reports (.txt .md .html .htm .pdf .docx), optionally with their date.

        Every file and the date are checked first: a bad name, type, size or date rejects the
        whole request.
        """
        request_user(request).require("documents.change", "upload reports")
        folder, limit = assistant.settings.uploads_path, assistant.settings.max_file_bytes
        if len(files) > MAX_UPLOAD_FILES:
            raise InputError(f"{len(files)} files in one request; the limit is {MAX_UPLOAD_FILES}")
        given = parse_day(date, "date")  # before anything is written
        for f in files:  # fail fast, before anything is written
            check_upload_type(safe_upload_name(f.filename))
            if f.size is not None and f.size > limit:
                raise UploadTooLargeError(
                    f"{f.filename}: over the upload limit of {limit / 1e6:g} MB")
        saved = save_uploads(folder, [(f.filename, f.file) for f in files], limit)
        return ingest_uploads(assistant, saved, date=given).to_dict()

    @router.delete("/documents/{doc_id}", response_model=DocumentInfo, tags=["documents"],
                   responses={404: {"model": ErrorOut}})
    def delete(request: Request, doc_id: str) -> dict[str, Any]:
        """Remove a report (and its uploaded file); 404 when the id is unknown."""
        request_user(request).require("documents.change", "delete reports")
        return delete_report(assistant, doc_id).to_dict()

    add_eval_routes(router, assistant)
    add_news_routes(router, assistant)
    add_conversation_routes(router, assistant)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)
    def unknown(path: str) -> None:
        # Without this the UI mounted at "/" would answer unknown /v1 paths in its own format.
        raise NotFoundError(f"no route /v1/{path}; see /docs")

    return router
