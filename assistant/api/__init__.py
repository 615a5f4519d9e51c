"""The HTTP API (FastAPI): /health, the /v1 routes of docs/interface.md and offline docs at /docs.

One module per idea: `schemas` (request and response models), `limits` (body sizes), `errors`
(error to status), `auth` (who is asking), `routes` (the /v1 routes and server-sent events),
`swagger` (the docs page). Errors are always `{"error": "..."}`, 4xx for bad input, never a trace.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from assistant.api.auth import Gate
from assistant.api.errors import install_error_handlers
from assistant.api.limits import MAX_JSON_BODY_BYTES, MULTIPART_OVERHEAD, BodyLimit
from assistant.api.routes import v1_router
from assistant.api.schemas import HealthOut
from assistant.api.swagger import offline_docs
from assistant.core import Assistant


def create_app(assistant: Assistant) -> FastAPI:
    """The FastAPI app serving `assistant` (no UI: `assistant.server.build_app` adds it)."""
    app = FastAPI(
        title="Report Assistant", version="0.1.0", docs_url=None, redoc_url=None,
        description="Ask questions of news reports; every claim cites the passage that says so. "
                    "With users (ASSISTANT_USERS) or ASSISTANT_API_TOKEN, /v1 needs "
                    "`Authorization: Bearer <token>`, and each role may do only its part (403 otherwise).",
    )
    install_error_handlers(app)
    # The last added runs first: sizes declared too large are refused, then the caller is
    # known (or refused), both before any route reads a byte of the body.
    app.add_middleware(Gate, users=assistant.users)
    app.add_middleware(
        BodyLimit, json_limit=MAX_JSON_BODY_BYTES,
        upload_limit=assistant.settings.max_file_bytes + MULTIPART_OVERHEAD,
    )
    offline_docs(app)

    @app.get("/health", response_model=HealthOut, tags=["health"])
    def health() -> dict[str, Any]:
        """Whether the server is up, and how much is indexed."""
        return assistant.health()

    app.include_router(v1_router(assistant))
    return app
