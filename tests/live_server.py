"""A real `assistant serve` process for the tests that talk HTTP (API, UI, load, concurrency)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from assistant.local_servers import stop, wait_until_ready
from tests.conftest import ROOT, SAMPLE_REPORTS, free_port

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
STARTUP_SECONDS = 180


@dataclass
class LiveServer:
    """A running `assistant serve` process."""

    url: str
    home: Path
    process: subprocess.Popen
    log: Path


def start_server(home: Path, env: dict[str, str] | None = None) -> LiveServer:
    """Start `.venv/bin/assistant --home HOME serve` on a free port; wait for /health."""
    port = free_port()
    environ = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "ASSISTANT_API_TOKEN": "", **(env or {})}
    log = home.parent / f"server-{port}.log"
    home.mkdir(parents=True, exist_ok=True)
    command = [str(Path(sys.executable).parent / "assistant"), "--home", str(home), "serve",
               "--host", "127.0.0.1", "--port", str(port), "--ingest", str(SAMPLE_REPORTS)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = LiveServer(f"http://127.0.0.1:{port}", home, process, log)
    wait_until_ready(f"{server.url}/health", process, STARTUP_SECONDS, "assistant serve", log)
    return server


def stop_server(server: LiveServer) -> None:
    """Stop the server process this test started."""
    stop(server.process)
