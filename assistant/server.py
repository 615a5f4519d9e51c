"""`assistant serve`: one HTTP server with the API under /v1 and the chat UI at /."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from assistant.config import Settings
from assistant.core import Assistant


def build_app(assistant: Assistant) -> FastAPI:
    """The API (`/health`, `/v1`, `/docs`) with the chat UI mounted at "/".

    The API routes are defined first so the UI mounted at "/" does not shadow them.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant.api import create_app
    from ui import build_ui, mount_ui

    app = create_app(assistant)
    return mount_ui(app, build_ui(assistant), assistant.settings)


def serve(settings: Settings, ingest_if_empty: Sequence[str | Path] = ()) -> None:
    """Open the assistant, index `ingest_if_empty` if the store is empty, serve until stopped."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    assistant = Assistant.open(settings)
    if ingest_if_empty and assistant.store.count_documents() == 0:
        report = assistant.ingest(ingest_if_empty)
        print(f"indexed {report.documents} documents, {report.chunks} chunks", flush=True)
    app = build_app(assistant)
    assistant.warm_up()
    print(f"Report Assistant on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
