"""A real `assistant serve` process for the tests that talk HTTP (API, UI, load, concurrency)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.local_servers import stop, wait_until_ready
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


def module_server(name: str, env: dict[str, str] | None = None) -> Callable[..., Iterator[LiveServer]]:
    """A module-scoped `server` fixture: one server for the module's tests, with the token
    (and `env`), over the sample reports, in a folder named `name`."""

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
        live = start_server(tmp_path_factory.mktemp(name) / "home",
                            {"ASSISTANT_API_TOKEN": TOKEN, **(env or {})})
        yield live
        stop_server(live)

    return server


def cli_eval_on_copy(server: LiveServer, testset: Path, work: Path) -> dict:
    """`assistant eval TESTSET --index` in its own process over a copy of the server's index
    (taken while it is idle); the run's results.json."""
    home = work / "home-copy"
    shutil.copytree(server.home, home, ignore=shutil.ignore_patterns("evals", "ui-uploads"))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "assistant"), "--home", str(home), "eval", str(testset),
         "--index", "--out", str(work / "cli-out")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((work / "cli-out" / "results.json").read_text())
