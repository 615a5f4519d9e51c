"""An ingest killed with SIGKILL at any moment, then run again, ends with exactly the index a
clean run gives: the same documents and chunk ids, no duplicate, orphaned or missing chunk, and
the keyword index in step with the store."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from assistant.config import Settings
from tests.conftest import ROOT

ASSISTANT = Path(sys.executable).parent / "assistant"
REPORTS = 60
ROUNDS = 4
SEED = 20240517
QUERIES = ("Which port reopened after the storm?", "grain exports wheat harvest",
           "Who was appointed harbor master?", "drone attack on the airbase")
PLACES = ("Port Vale", "Odesa", "Basra", "Gdansk", "Mombasa", "Valparaiso", "Chittagong", "Tema")
TOPICS = ("wheat", "storm", "drone", "strike", "ferry", "harvest", "airbase", "election")


def write_reports(folder: Path, n: int = REPORTS) -> None:
    """`n` distinct reports, several chunks each, some long enough to need many chunks."""
    rnd = random.Random(SEED)
    folder.mkdir(parents=True)
    for i in range(n):
        place, topic = PLACES[i % len(PLACES)], TOPICS[(i * 3) % len(TOPICS)]
        lines = [f"Report {i}: {topic} news from {place}",
                 f"{place.upper()}, March {1 + i % 28}, 2022 - Officials in {place} spoke about the {topic}."]
        for j in range(4 + rnd.randrange(30)):
            other = rnd.choice(PLACES)
            lines.append(
                f"Item {j} of report {i}: the {rnd.choice(TOPICS)} in {other} affected "
                f"{rnd.randrange(10, 9000)} people, and the harbor master of {place} "
                f"said the port reopened after {rnd.randrange(2, 40)} days."
            )
        (folder / f"report-{i:03d}.txt").write_text("\n".join(lines) + "\n")


def _ingest_command(home: Path, folder: Path) -> list[str]:
    return [str(ASSISTANT), "--home", str(home), "ingest", str(folder), "--json"]


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _run_to_the_end(home: Path, folder: Path) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    done = subprocess.run(_ingest_command(home, folder), capture_output=True, text=True,
                          env=_env(), cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), time.monotonic() - started


def _kill_after(home: Path, folder: Path, delay: float) -> int | None:
    """Start an ingest, SIGKILL it after `delay` s; returns its exit code if it ended first."""
    process = subprocess.Popen(_ingest_command(home, folder), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=_env(), cwd=ROOT)
    try:
        process.wait(timeout=delay)
        return process.returncode
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return None


def snapshot(home: Path) -> dict[str, Any]:
    """Everything an index is: read straight from the store and the keyword index on disk,
    before any Assistant is opened (opening one would repair the keyword index)."""
    from index.keyword import KeywordIndex, Stamp
    from index.store import ChromaStore, make_client

    settings = Settings.load({"home": home}, environ={})
    store = ChromaStore(make_client(settings.chroma_path, settings.chroma_url), settings.collection)
    docs = sorted(store.documents(), key=lambda d: d.doc_id)
    chunks = list(store.iter_chunks())
    chunk_ids = [c.chunk_id for c in chunks]
    by_doc: dict[str, int] = {}
    for c in chunks:
        by_doc[c.doc_id] = by_doc.get(c.doc_id, 0) + 1
    keyword = KeywordIndex(settings.keyword_path)
    return {
        "documents": [(d.doc_id, d.source, d.title, d.date, d.chunks, d.chars) for d in docs],
        "chunk_ids": sorted(chunk_ids),
        "duplicate_chunk_ids": len(chunk_ids) - len(set(chunk_ids)),
        "count_chunks": store.count_chunks(),
        "orphan_chunks": sorted(set(by_doc) - {d.doc_id for d in docs}),
        "chunks_per_doc_match": all(by_doc.get(d.doc_id) == d.chunks for d in docs),
        "keyword_in_step": keyword.stamp == Stamp(store.count_chunks(), store.changes()),
        "keyword_hits": [[c for c, _ in keyword.search(q, 5)] for q in QUERIES],
    }


def _retrieved(home: Path) -> list[list[tuple[str, str]]]:
    from assistant.core import Assistant

    assistant = Assistant.open(Settings.load({"home": home}, environ={}))
    return [[(p.chunk_id, p.text) for p in assistant.retrieve(q, k=5)] for q in QUERIES]


@pytest.mark.server
def test_ingest_killed_at_random_moments_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    write_reports(folder)

    clean_home = tmp_path / "clean"
    clean_result, clean_seconds = _run_to_the_end(clean_home, folder)
    assert clean_result["documents"] == REPORTS and not clean_result["failed"]
    assert clean_result["chunks"] > REPORTS  # several chunks per report: kills land mid-report

    crashed_home = tmp_path / "crashed"
    rnd = random.Random(SEED)
    killed = 0
    for round_ in range(ROUNDS):
        # From the process start-up to the end of a clean run: loading, embedding, writing.
        delay = rnd.uniform(0.25, 0.95) * clean_seconds
        code = _kill_after(crashed_home, folder, delay)
        killed += code is None
        print(f"round {round_}: killed after {delay:.1f}s" if code is None
              else f"round {round_}: finished (exit {code}) before {delay:.1f}s")
    assert killed >= ROUNDS - 1, "the ingest finished before it could be killed"

    final, _ = _run_to_the_end(crashed_home, folder)
    assert final["documents"] == REPORTS and final["chunks"] == clean_result["chunks"]

    clean, crashed = snapshot(clean_home), snapshot(crashed_home)
    assert crashed["duplicate_chunk_ids"] == 0 and crashed["orphan_chunks"] == []
    assert crashed["chunks_per_doc_match"] and crashed["keyword_in_step"]
    assert crashed["count_chunks"] == len(crashed["chunk_ids"])
    assert crashed == clean
    assert _retrieved(crashed_home) == _retrieved(clean_home)
