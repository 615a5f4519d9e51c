"""`assistant serve`: one HTTP server with the API under /v1 and the chat UI at /."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from assistant.config import Settings


def serve(settings: Settings, ingest_if_empty: Sequence[str | Path] = ()) -> None:
    """Open the assistant, index `ingest_if_empty` when the store is empty, and serve until stopped."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    from assistant.api import create_app
    from assistant.core import Assistant

    assistant = Assistant.open(settings)
    if ingest_if_empty and assistant.store.count_documents() == 0:
        report = assistant.ingest(ingest_if_empty)
        print(f"indexed {report.documents} documents, {report.chunks} chunks", flush=True)
    app = create_app(assistant)
    print(f"Report Assistant on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
