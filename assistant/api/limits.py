"""Request body limits, enforced while the body is read (before any route sees it)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.api.errors import error_response

MAX_JSON_BODY_BYTES = 1_000_000  # any /v1 request body but an upload
# An upload request carries at most one file's limit in all, plus room for the multipart framing.
MULTIPART_OVERHEAD = 1_000_000
UPLOAD_ROUTES = ("/v1/documents", "/v1/evals")  # multipart: reports, a test set


class BodyTooLargeError(StarletteHTTPException):
    """A /v1 request body over its limit (raised while the body is being read)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body over the limit of {limit / 1e6:g} MB")


class BodyLimit:
    """ASGI middleware: a /v1 request body over its limit is refused with a 413 JSON error.

    A declared Content-Length over the limit is refused before anything is read; a chunked body
    is counted as it arrives. An upload (reports, a test set) may be as large as the per-file
    limit plus the multipart framing; every other body (JSON) `MAX_JSON_BODY_BYTES`. The UI
    mounted at "/" is not affected.
    """

    def __init__(self, app: Any, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        upload = scope["method"] == "POST" and scope["path"].rstrip("/") in UPLOAD_ROUTES
        limit = self.upload_limit if upload else self.json_limit
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await error_response(400, "the Content-Length header is not a number")(scope, receive, send)
                return
            if size > limit:
                await error_response(413, BodyTooLargeError(limit).detail)(scope, receive, send)
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
