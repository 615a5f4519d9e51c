"""The HTTP API (FastAPI): /health and the /v1 routes of SPEC.md."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.core import Assistant


def create_app(assistant: Assistant) -> FastAPI:
    """The FastAPI app serving `assistant`."""
    app = FastAPI(title="Report Assistant", version="0.1.0")

    @app.get("/health")
    def health() -> dict:
        return assistant.health()

    return app
