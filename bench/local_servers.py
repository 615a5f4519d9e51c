"""Local server processes (Chroma, llama.cpp, `assistant serve`) for tests, benchmarks and the
load test: one place that picks a port, waits until the server answers, and stops it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_ready(
    url: str, process: subprocess.Popen, timeout_s: float, name: str, log: Path | None = None
) -> float:
    """Poll `url` until it answers 200; returns the seconds it took.

    Raises RuntimeError naming `name` when the process exits or `timeout_s` passes (the process
    is stopped then), with the tail of the process's `log` file when there is one.
    """
    started = time.monotonic()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or answering errors while it starts
        if time.monotonic() - started > timeout_s:
            stop(process)
            raise RuntimeError(f"{name} did not answer {url} within {timeout_s:.0f} s{_tail(log)}")
        time.sleep(0.3)


def start_chroma(path: Path, port: int, log: Path | None = None, timeout_s: float = 120) -> tuple[subprocess.Popen, str]:
    """`chroma run` (shipped with chromadb, beside this interpreter) on 127.0.0.1:`port` over the
    persistent folder `path`, once it answers its heartbeat: the process and its URL."""
    chroma = Path(sys.executable).parent / "chroma"
    out = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=out, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(f"{url}/api/v2/heartbeat", process, timeout_s, "chroma run", log)
    return process, url


def stop(process: subprocess.Popen, timeout_s: float = 20) -> None:
    """Terminate `process`, killing it if it does not exit within `timeout_s`."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path | None) -> str:
    if log is None or not log.is_file():
        return ""
    return ":\n" + log.read_text(errors="replace")[-2000:]
