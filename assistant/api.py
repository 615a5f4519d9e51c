"""The HTTP API (FastAPI): /health and the /v1 routes of SPEC.md.

Every route that calls the assistant is a plain `def`: FastAPI runs those in its threadpool,
so a long ingest or answer (torch, Chroma) never blocks the event loop. Errors are always
`{"error": "..."}` with a 4xx status for bad input, never a stack trace.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, StrictBool, StrictInt
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.auth import TokenGate
from assistant.config import MAX_K
from assistant.core import Assistant, check_date
from assistant.errors import (
    AssistantError,
    ConfigError,
    InputError,
    LLMError,
    NotFoundError,
    StoreError,
    UnsupportedFileError,
)
# The result shapes are the frozen dataclasses of assistant.models; pydantic validates and
# documents them as they are, so the API cannot drift from the Python API.
from assistant.models import Answer, Citation, DocumentInfo, IngestReport, Passage
from assistant.uploads import (
    UploadTooLargeError,
    check_upload_type,
    delete_report,
    ingest_uploads,
    max_upload_bytes,
    safe_upload_name,
    save_uploads,
)

log = logging.getLogger(__name__)

MAX_UPLOAD_FILES = 20  # files in one POST /v1/documents
MAX_JSON_BODY_BYTES = 1_000_000  # any other /v1 request body
MAX_FILTER_ITEMS = 1000  # entries of `sources` / `doc_ids`
MAX_HISTORY_TURNS = 100
# An upload request carries at most one file's limit in all, plus room for the multipart framing.
_MULTIPART_OVERHEAD = 1_000_000


# --- request and response models -------------------------------------------------------------

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
    history: list[TurnIn] = Field(default_factory=list, max_length=MAX_HISTORY_TURNS)
    k: K | None = None
    stream: StrictBool = Field(False, description="answer as server-sent events: `delta`s, then `answer`")


class PassagesOut(BaseModel):
    """`POST /v1/retrieve`."""

    passages: list[Passage]


class DocumentsOut(BaseModel):
    """`GET /v1/documents`."""

    documents: list[DocumentInfo]


# --- request size ------------------------------------------------------------------------------


class BodyTooLargeError(StarletteHTTPException):
    """A /v1 request body over its limit (raised while the body is being read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit / 1e6:g} MB")


class BodyLimit:
    """ASGI middleware: a /v1 request body over its limit is refused with a 413 JSON error.

    A declared Content-Length over the limit is refused before anything is read; a chunked body
    is counted as it arrives. An upload may be as large as the per-file limit plus the multipart
    framing; every other body (JSON) `MAX_JSON_BODY_BYTES`. The UI mounted at "/" is not affected.
    """

    def __init__(self, app: Any, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") == "/v1/documents"
        limit = self.upload_limit if upload else self.json_limit
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await _error(400, "the Content-Length header is not a number")(scope, receive, send)
                return
            if size > limit:
                await _error(413, BodyTooLargeError(limit).detail)(scope, receive, send)
                return
        received = 0

        async def counted() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counted, send)


# --- errors ------------------------------------------------------------------------------------


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _status_of(exc: AssistantError) -> int:
    """The HTTP status for an assistant error: the caller's fault is 4xx, ours 5xx."""
    for kind, status in ((UploadTooLargeError, 413), (UnsupportedFileError, 415),
                         (InputError, 400), (NotFoundError, 404),
                         (StoreError, 503), (LLMError, 503), (ConfigError, 500)):
        if isinstance(exc, kind):
            return status
    return 500


def _describe_validation(exc: RequestValidationError) -> str:
    """One line naming each bad field, e.g. `k: Input should be less than or equal to 50`."""
    parts = []
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            return "the request body is not valid JSON"
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            loc = loc[1:]  # where the value was, not part of the field's name
        field = ".".join(loc) or "body"
        if err.get("type") == "missing":
            parts.append(f"{field}: required field is missing")
        else:
            parts.append(f"{field}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(AssistantError)
    async def _assistant(_: Request, exc: AssistantError) -> JSONResponse:
        status = _status_of(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        return _error(status, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Logged for the operator; the caller gets no stack trace.
        log.exception("unexpected error")
        return _error(500, "internal error; see the server log")


# --- routes ------------------------------------------------------------------------------------


def sse_event(event: str, data: dict[str, Any]) -> str:
    """One server-sent event; JSON has no raw newlines, so `data` is a single line."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _sse_stream(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str]:
    """`delta` events for the text, then one `answer`; an `error` event if it fails midway."""
    try:
        for event in _chain(first, rest):
            if isinstance(event, Answer):
                yield sse_event("answer", event.to_dict())
            else:
                yield sse_event("delta", {"text": event})
    except AssistantError as exc:
        yield sse_event("error", {"error": str(exc)})
    except Exception:  # the status line is already sent: report in-band, never a trace
        log.exception("streamed answer failed")
        yield sse_event("error", {"error": "internal error; see the server log"})


def _chain(first: str | Answer, rest: Iterator[str | Answer]) -> Iterator[str | Answer]:
    yield first
    yield from rest


def _v1_router(assistant: Assistant) -> APIRouter:
    router = APIRouter(
        prefix="/v1",  # the token is checked before this, by TokenGate (assistant/auth.py)
        responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 413: {"model": ErrorOut}},
    )

    @router.post("/retrieve", response_model=PassagesOut, tags=["questions"])
    def retrieve(body: RetrieveIn) -> dict[str, Any]:
        """The `k` passages most relevant to `query`, best first."""
        passages = assistant.retrieve(body.query, k=body.k, **body.filter_kwargs())
        return {"passages": [p.to_dict() for p in passages]}

    @router.post(
        "/ask", response_model=Answer, tags=["questions"],
        responses={200: {"content": {"text/event-stream": {}},
                         "description": "Answer JSON, or with stream=true server-sent events: "
                                        "`delta` {text}..., then `answer` {Answer}"}},
    )
    async def ask(body: AskIn) -> Any:
        """An answer citing the reports, or a refusal; `stream: true` for server-sent events."""
        history = [t.model_dump() for t in body.history]
        events = assistant.ask_stream(body.question, history, k=body.k, **body.filter_kwargs())
        # The first event is pulled before any byte is sent, so bad input is still a 400.
        first = await run_in_threadpool(next, events)
        if body.stream:
            return StreamingResponse(
                _sse_stream(first, events), media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = await run_in_threadpool(_last, _chain(first, events))
        return answer.to_dict()

    @router.get("/documents", response_model=DocumentsOut, tags=["documents"])
    def documents() -> dict[str, Any]:
        """Every indexed report."""
        return {"documents": [d.to_dict() for d in assistant.documents()]}

    @router.post(
        "/documents", response_model=IngestReport, tags=["documents"],
        responses={413: {"model": ErrorOut}, 415: {"model": ErrorOut}},
    )
    def upload(
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
        folder, limit = assistant.settings.uploads_path, max_upload_bytes(assistant)
        if len(files) > MAX_UPLOAD_FILES:
            raise InputError(f"{len(files)} files in one request; the limit is {MAX_UPLOAD_FILES}")
        given = check_date(date, "date")  # before anything is written
        for f in files:  # fail fast, before anything is written
            check_upload_type(safe_upload_name(f.filename))
            if f.size is not None and f.size > limit:
                raise UploadTooLargeError(
                    f"{f.filename}: over the upload limit of {limit / 1e6:g} MB")
        saved = save_uploads(folder, [(f.filename, f.file) for f in files], limit)
        return ingest_uploads(assistant, saved, date=given).to_dict()

    @router.delete("/documents/{doc_id}", response_model=DocumentInfo, tags=["documents"],
                   responses={404: {"model": ErrorOut}})
    def delete(doc_id: str) -> dict[str, Any]:
        """Remove a report (and its uploaded file); 404 when the id is unknown."""
        return delete_report(assistant, doc_id).to_dict()

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                      include_in_schema=False)
    def unknown(path: str) -> None:
        # Without this the UI mounted at "/" would answer unknown /v1 paths in its own format.
        raise NotFoundError(f"no route /v1/{path}; see /docs")

    return router


def _last(events: Iterator[str | Answer]) -> Answer:
    answer = None
    for event in events:
        if isinstance(event, Answer):
            answer = event
    if answer is None:
        raise AssistantError("the answerer produced no answer")
    return answer


def _offline_docs(app: FastAPI) -> None:
    """OpenAPI at /docs with Swagger UI served from the installed package, not a CDN."""
    # swagger-ui-py ships Swagger UI 5 (needed for OpenAPI 3.1); found without importing it.
    spec = importlib.util.find_spec("swagger_ui")
    assets: dict[str, str] = {}
    if spec and spec.submodule_search_locations:
        static = Path(next(iter(spec.submodule_search_locations))) / "static"
        app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")
        assets = {"swagger_js_url": "/docs-static/swagger-ui-bundle.js",
                  "swagger_css_url": "/docs-static/swagger-ui.css",
                  "swagger_favicon_url": "/docs-static/favicon-32x32.png"}
    else:
        log.warning("swagger-ui-py is not installed: /docs loads Swagger UI from a CDN")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title}: API", **assets,
        )


def create_app(assistant: Assistant) -> FastAPI:
    """The FastAPI app serving `assistant` (no UI: `assistant.server.build_app` adds it)."""
    app = FastAPI(
        title="Report Assistant", version="0.1.0", docs_url=None, redoc_url=None,
        description="Ask questions of news reports; every claim cites the passage that says so. "
                    "When ASSISTANT_API_TOKEN is set, /v1 needs `Authorization: Bearer <token>`.",
    )
    _install_error_handlers(app)
    # The last added runs first: sizes declared too large are refused, then the token is
    # checked, both before any route reads a byte of the body.
    app.add_middleware(TokenGate, token=assistant.settings.api_token)
    app.add_middleware(
        BodyLimit, json_limit=MAX_JSON_BODY_BYTES,
        upload_limit=max_upload_bytes(assistant) + _MULTIPART_OVERHEAD,
    )
    _offline_docs(app)

    @app.get("/health", response_model=HealthOut, tags=["health"])
    def health() -> dict[str, Any]:
        """Whether the server is up, and how much is indexed."""
        return assistant.health()

    app.include_router(_v1_router(assistant))
    return app
