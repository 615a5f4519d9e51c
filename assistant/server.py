"""`assistant serve`: one HTTP server with the API under /v1 and the registered front ends (the
chat UI) at /."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from assistant import plugins
from assistant.config import Settings
from assistant.core import Assistant


def build_app(assistant: Assistant) -> FastAPI:
    """The API (`/health`, `/v1`, `/docs`) with the front ends (the chat UI at "/") mounted.

    The API routes are defined first so the UI mounted at "/" does not shadow them.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant.api import create_app

    app = create_app(assistant)
    for mount in plugins.frontends():
        app = mount(app, assistant)
    return app


def serve(settings: Settings, ingest_if_empty: Sequence[str | Path] = ()) -> None:
    """Open the assistant, index `ingest_if_empty` if the store is empty, serve until stopped."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import uvicorn

    assistant = Assistant.open(settings)
    if ingest_if_empty and assistant.index.count_documents() == 0:
        report = assistant.ingest(ingest_if_empty)
        print(f"indexed {report.documents} documents, {report.chunks} chunks", flush=True)
    app = build_app(assistant)
    assistant.warm_up()
    print(f"Report Assistant on http://{settings.host}:{settings.port}", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="ASSISTANT_HOST, default 127.0.0.1")
    parser.add_argument("--port", type=int, help="ASSISTANT_PORT, default 7860")
    parser.add_argument("--ingest", nargs="*", metavar="PATH",
                        help="index these paths first when the store is empty")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    serve(settings, ingest_if_empty=args.ingest or [])
    return 0


COMMAND = plugins.Command(
    help="serve the chat UI at / and the API at /v1", add_arguments=_add_arguments, run=_run
)
