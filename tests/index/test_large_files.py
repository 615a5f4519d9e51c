"""A report of tens of megabytes is indexed in memory bounded by a batch, not by the file, and an
ingest killed in the middle of it leaves no half-indexed report behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT
from tests.index.test_crash_safety import snapshot

JACK = "All work and no play makes Jack a dull boy. "
GOOD = "Harbor report. The harbor master of Port Vale is Ada Okafor, appointed in May."
# Each ingest runs in its own process, which reports its peak resident memory.
SCRIPT = ("import resource, sys; from assistant.cli import main; code = main(sys.argv[1:]); "
          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); sys.exit(code)")


def _environ(home: Path) -> dict[str, str]:
    return {**os.environ, "ASSISTANT_HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _ingest(tmp_path: Path, name: str, files: dict[str, str]) -> tuple[dict, float]:
    folder = tmp_path / name
    folder.mkdir()
    for file_name, text in files.items():
        (folder / file_name).write_text(text)
    done = subprocess.run([sys.executable, "-c", SCRIPT, "ingest", str(folder), "--json"],
                          capture_output=True, text=True, env=_environ(tmp_path / f"home-{name}"),
                          cwd=ROOT, timeout=1200)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), int(done.stderr.strip().splitlines()[-1]) / 1024


def test_a_30_mb_single_line_report_is_indexed_in_bounded_memory(tmp_path: Path) -> None:
    # The control ingests one small report: the model (and its int8 copy) and the store, what
    # any ingest holds. It also builds the model caches a fresh checkout lacks.
    _, control_mb = _ingest(tmp_path, "control", {"harbor.txt": GOOD})
    result, peak_mb = _ingest(tmp_path, "big", {"jack.txt": JACK * 680_000, "harbor.txt": GOOD})
    assert len(result["added"]) == 2 and result["chunks"] > 40_000
    # Measured: 600 MB above the control (1,126 MB against 523), most of it Chroma's own vector
    # and full-text indexes of the 45,000 chunks. Before, all chunks were held at once: 2.2 GB
    # for 40 MB.
    assert peak_mb < control_mb + 800, f"peak {peak_mb:.0f} MB, {control_mb:.0f} MB for one small report"
    listed = subprocess.run([sys.executable, "-m", "assistant.cli", "docs", "list", "--json"],
                            capture_output=True, text=True, env=_environ(tmp_path / "home-big"),
                            cwd=ROOT, timeout=300)
    assert json.loads(listed.stdout)["indexing"] == []


def test_an_ingest_killed_inside_a_long_report_leaves_no_half_of_it(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "a-harbor.txt").write_text(GOOD)
    # Thousands of chunks (many batches) of two distinct texts: embedding is quick, writing is not.
    (folder / "b-jack.txt").write_text("Jack's report.\n" + JACK * 90_000)
    command = [sys.executable, "-m", "assistant.cli", "ingest", str(folder), "--json"]

    clean_home, crashed_home = tmp_path / "clean", tmp_path / "crashed"
    done = subprocess.run(command, capture_output=True, text=True, env=_environ(clean_home), cwd=ROOT,
                          timeout=900)
    assert done.returncode == 0, done.stderr

    # Killed once the long report is being written: its marker is in the store.
    from assistant.config import Settings
    from index.store import ChromaStore, make_client

    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=_environ(crashed_home), cwd=ROOT)
    settings = Settings.load({"home": crashed_home}, environ={})
    deadline = time.monotonic() + 600
    marked = False
    while not marked and process.poll() is None and time.monotonic() < deadline:
        time.sleep(1.0)
        if settings.chroma_path.exists():
            store = ChromaStore(make_client(settings.chroma_path), settings.collection)
            marked = any(d.source.endswith("b-jack.txt") for d in store.indexing())
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marked, "the long report was never seen being indexed"

    store = ChromaStore(make_client(settings.chroma_path), settings.collection)
    assert "b-jack.txt" not in [Path(d.source).name for d in store.documents()]
    assert store.indexing() == [] and store.interrupted()  # its run is dead: not "being indexed"

    again = subprocess.run(command, capture_output=True, text=True, env=_environ(crashed_home),
                           cwd=ROOT, timeout=900)
    assert again.returncode == 0, again.stderr
    crashed, clean = snapshot(crashed_home), snapshot(clean_home)
    assert crashed["orphan_chunks"] == [] and crashed["chunks_per_doc_match"] and crashed["keyword_in_step"]
    assert crashed == clean
