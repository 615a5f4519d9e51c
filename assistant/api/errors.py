"""From errors to HTTP: the status of each kind of error, and one JSON shape for all of them."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.uploads import UploadTooLargeError
from assistant.users import ForbiddenError
from index.common.errors import (
    AssistantError,
    BusyError,
    ConfigError,
    InputError,
    LLMError,
    NotFoundError,
    StoreError,
    UnsupportedFileError,
)

log = logging.getLogger(__name__)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one shape of every error: `{"error": message}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def _status_of(exc: AssistantError) -> int:
    """The HTTP status for an assistant error: the caller's fault is 4xx, ours 5xx."""
    for kind, status in ((UploadTooLargeError, 413), (UnsupportedFileError, 415),
                         (InputError, 400), (ForbiddenError, 403), (NotFoundError, 404), (BusyError, 409),
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


def install_error_handlers(app: FastAPI) -> None:
    """Map every error to a status and `{"error": ...}`: the caller's fault 4xx, ours 5xx, no trace."""
    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, _describe_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(AssistantError)
    async def _assistant(_: Request, exc: AssistantError) -> JSONResponse:
        status = _status_of(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        return error_response(status, str(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Logged for the operator; the caller gets no stack trace.
        log.exception("unexpected error")
        return error_response(500, "internal error; see the server log")
