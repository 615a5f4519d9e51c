"""The scale part of the bench: a store grown to each size, and at each size the latency of
retrieve and ask, the cost of adding and deleting one report; at the largest size a fresh
`assistant serve` (time to its first answer, memory), on the embedded store and again through a
`chroma run` server over the same data.

Reaching 1,000,000 chunks: embedding them all takes days on 2 cores, so only the reports of the
ingestion race carry real embeddings; the other chunks are synthetic reports made of realistic
generated sentences whose vectors are real chunk vectors plus small Gaussian noise, renormalized
(so the HNSW graph holds realistic, clustered, non-duplicate vectors). They are written through
`ChromaStore.add_documents` and indexed for BM25 like any other chunk.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from bench.local_servers import free_port, start_chroma, stop, wait_until_ready
from bench.corpus import CITIES, PEOPLE, TOPICS, sentences, write_corpus

ROOT = Path(__file__).resolve().parent.parent
SYNTHETIC_CHUNKS_PER_DOC = 4
SYNTHETIC_DOCS_PER_WRITE = 1250  # 5,000 chunks a Chroma write (its limit is 5,461 records)


def queries(n: int, seed: int = 7) -> list[str]:
    """Questions in the style of the generated reports."""
    rng = random.Random(seed)
    forms = [
        "What happened to {subject} in {city}?",
        "Why did {subject} change?",
        "What did {person} say about {subject}?",
        "How many people were affected by {subject}?",
        "When will the full assessment of {subject} be published?",
        "Who accused the authorities of acting too slowly?",
    ]
    out = []
    for _ in range(n):
        topic = rng.choice(sorted(TOPICS))
        out.append(rng.choice(forms).format(subject=rng.choice(TOPICS[topic][0]),
                                            city=rng.choice(CITIES), person=rng.choice(PEOPLE)))
    return out


def percentiles(ms: Sequence[float]) -> dict[str, float]:
    """p50, p95 and mean of millisecond timings."""
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "mean_ms": round(float(np.mean(ms)), 2), "n": len(ms)}


def grow_store(assistant: Any, target: int, seed: int) -> dict[str, Any]:
    """Add synthetic reports until the store holds about `target` chunks (see module doc)."""
    from index.common.types import DocumentInfo

    index = assistant.index
    have = index.count_chunks()
    if have >= target:
        return {"added_chunks": 0}
    rng = np.random.default_rng(seed)
    real_ids = [c.chunk_id for c in itertools.islice(index.chunks(), 5000)]
    real = np.stack(list(index.chunk_vectors(real_ids).values()))
    docs_needed = (target - have + SYNTHETIC_CHUNKS_PER_DOC - 1) // SYNTHETIC_CHUNKS_PER_DOC
    pool = sentences(4000, seed=seed)

    def batches() -> Iterator[list[Any]]:
        batch = []
        for d in range(docs_needed):
            doc_id = f"syn{seed}-{have}-{d:07d}"  # `have`: a kept store grown again gets new ids
            title = f"{rng.choice(pool)[:80]}"
            parts = [" ".join(pool[int(i)] + "." for i in rng.integers(0, len(pool), 7))
                     for _ in range(SYNTHETIC_CHUNKS_PER_DOC)]
            text = "\n\n".join(parts)
            rows, offset = [], 0
            for i, part in enumerate(parts):
                rows.append((f"{doc_id}:{i}", offset, offset + len(part), part))
                offset += len(part) + 2
            base = real[rng.integers(0, len(real), SYNTHETIC_CHUNKS_PER_DOC)]
            vectors = base + rng.normal(0, 0.03, base.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            date = f"{2019 + d % 6}-{1 + d % 12:02d}-{1 + d % 28:02d}"
            info = DocumentInfo(doc_id, title, f"synthetic/{doc_id}.txt", date, len(rows), len(text))
            batch.append((info, rows, vectors.astype(np.float32), text, doc_id))
            if len(batch) == SYNTHETIC_DOCS_PER_WRITE or d == docs_needed - 1:
                yield batch
                batch = []

    # As an ingest does: the keyword indexes take the new rows (a fold, from their cached
    # tokens) instead of reading the whole store back.
    seconds = index.add_embedded(batches())
    return {"added_chunks": index.count_chunks() - have, "write_s": round(seconds["write_s"], 1),
            "keyword_update_s": round(seconds["keyword_update_s"], 1)}


# Within the synthetic reports' years (2019-2024, `grow_store`): the later ones are cut and the
# time preference reorders the rest, the path a dated news question takes.
AS_OF = "2024-06-30"


def measure_queries(assistant: Any, qs: Sequence[str], as_of: str | None = AS_OF) -> dict[str, Any]:
    """Latency of retrieve and ask (the configured answerer; extractive by default), of ask
    with `as_of` set (unless it is None), and of the timeline of each query as its topic (as
    of `as_of`: the reports it judges, their sentences read by the reader)."""
    for q in qs[:3]:  # warm-up: caches, lazy imports
        assistant.ask(q)
        assistant.timeline(q, as_of=as_of)
        if as_of:
            assistant.ask(q, as_of=as_of)
    retrieve_ms, ask_ms, dated_ms, timeline_ms, refused = [], [], [], [], 0
    for q in qs:
        t = time.perf_counter()
        assistant.retrieve(q)
        retrieve_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answer = assistant.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
        refused += answer.refused
        if as_of:
            t = time.perf_counter()
            assistant.ask(q, as_of=as_of)
            dated_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        assistant.timeline(q, as_of=as_of)
        timeline_ms.append((time.perf_counter() - t) * 1000)
    measured = {"retrieve": percentiles(retrieve_ms), "ask": percentiles(ask_ms),
                "timeline": percentiles(timeline_ms), "refused": refused,
                "load_avg": round(os.getloadavg()[0], 2)}
    if as_of:
        measured["ask_as_of"] = percentiles(dated_ms)
    return measured


def real_news_latency(home: Path, testset: Path, n_queries: int, collection: str = "reports") -> dict[str, Any]:
    """Latency of retrieve and ask over an index of real news already built in `home`'s
    `collection` (say, a development-set build ingested there, or an evaluation's OUT/.index),
    asked the first `n_queries` questions of `testset` (a test-set file): the reader reads real
    sentences, longer than the synthetic reports'."""
    from assistant.config import Settings
    from assistant.core import Assistant

    rows = [json.loads(line) for line in testset.read_text(encoding="utf-8").splitlines() if line.strip()]
    assistant = Assistant.open(Settings.load({"home": home, "collection": collection}, environ={}))
    measured = {"home": str(home), "testset": str(testset), "chunks": assistant.index.count_chunks(),
                "documents": len(assistant.documents())}
    measured.update(measure_queries(assistant, [r["question"] for r in rows[:n_queries]], as_of=None))
    del assistant
    _release_embedded_chroma()
    return measured


def add_and_delete_one(assistant: Any, corpus_dir: Path, seed: int = 900_000) -> dict[str, float]:
    """Seconds to ingest one new report and then to delete it, at the store's current size
    (embedding, Chroma and both keyword indexes included)."""
    path = write_corpus(corpus_dir, 1, first_seed=seed)[0]
    t = time.perf_counter()
    assistant.ingest([path], progress=False)
    ingest_s = time.perf_counter() - t
    doc = assistant.index.documents_by_source(str(path.resolve()))[0]
    t = time.perf_counter()
    assistant.delete(doc.doc_id)
    return {"ingest_one_s": round(ingest_s, 3), "delete_one_s": round(time.perf_counter() - t, 3)}


def rss_mb(pid: int) -> dict[str, float]:
    """Resident and peak resident memory of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    kb = lambda name: int(fields.get(name, "0 kB").split()[0])  # noqa: E731
    return {"rss_mb": round(kb("VmRSS") / 1024, 1), "peak_rss_mb": round(kb("VmHWM") / 1024, 1)}


def serve_measure(home: Path, port: int, chroma_url: str | None = None) -> dict[str, Any]:
    """Start `assistant serve` on the store: seconds until it answers its first question (from
    the start of the process), then ten more questions over HTTP, and its memory."""
    import httpx

    exe = Path(sys.executable).parent / "assistant"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]
    log = home.parent / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("ASSISTANT_CHROMA_URL", None)
    if chroma_url:
        env["ASSISTANT_CHROMA_URL"] = chroma_url
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd + ["--home", str(home), "serve", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_until_ready(f"{url}/health", proc, 900, "assistant serve", log)
        first = queries(11, seed=3)
        httpx.post(f"{url}/v1/ask", json={"question": first[0]}, timeout=300).raise_for_status()
        first_answer = time.monotonic() - started
        ms = []
        for q in first[1:]:
            t = time.perf_counter()
            httpx.post(f"{url}/v1/ask", json={"question": q}, timeout=120).raise_for_status()
            ms.append((time.perf_counter() - t) * 1000)
        health = httpx.get(f"{url}/health", timeout=10).json()
        return {**rss_mb(proc.pid), "startup_s": round(ready, 1),
                "first_answer_s": round(first_answer, 1), "ask_over_http": percentiles(ms),
                "chunks": health["chunks"]}
    finally:
        stop(proc, timeout_s=60)


def latency_by_size(corpus: Path, home: Path, scales: Sequence[int], n_queries: int,
                    keep_store: bool, scratch: Path) -> list[dict[str, Any]]:
    """Grow the embedded store in `home` to each of `scales` chunks and measure at each size."""
    import shutil

    from assistant.config import Settings
    from assistant.core import Assistant

    if not keep_store:
        shutil.rmtree(home, ignore_errors=True)
    assistant = Assistant.open(Settings.load({"home": home}, environ={}))
    assistant.ingest([corpus], progress=False)  # unchanged when the store is kept
    qs = queries(n_queries)
    # Synthetic report ids start "syn" (not a hex digit, as content-hash ids start).
    real_chunks = sum(d.chunks for d in assistant.documents() if not d.doc_id.startswith("syn"))
    rows = []
    for scale in scales:
        grown = grow_store(assistant, scale, seed=scale)
        row = {"scale": scale, "chunks": assistant.index.count_chunks(), "real_chunks": real_chunks,
               "growth": grown}
        row.update(measure_queries(assistant, qs))
        row["add_delete"] = add_and_delete_one(assistant, scratch)
        rows.append(row)
        print("queries:", row, flush=True)
    del assistant
    _release_embedded_chroma()
    return rows


def through_chroma_server(home: Path, n_queries: int, scratch: Path, serve: bool) -> dict[str, Any]:
    """The same store served by `chroma run` over its folder: retrieve and ask latency, adding
    and deleting one report, and (with `serve`) a fresh `assistant serve` pointed at it, with
    the memory of both processes."""
    from assistant.config import Settings
    from assistant.core import Assistant

    log = home.parent / "chroma-server.log"
    started = time.monotonic()
    process, url = start_chroma(home / "chroma", free_port(), log, timeout_s=900)
    result: dict[str, Any] = {"chroma_start_s": round(time.monotonic() - started, 1)}
    try:
        assistant = Assistant.open(Settings.load({"home": home, "chroma_url": url}, environ={}))
        result["chunks"] = assistant.index.count_chunks()
        result.update(measure_queries(assistant, queries(n_queries)))
        result["add_delete"] = add_and_delete_one(assistant, scratch, seed=900_001)
        del assistant
        if serve:
            result["serve"] = serve_measure(home, free_port(), chroma_url=url)
        result["chroma_server"] = rss_mb(process.pid)
        print("chroma server:", result, flush=True)
        return result
    finally:
        stop(process, timeout_s=60)


def _release_embedded_chroma() -> None:
    """Close this process's embedded Chroma clients, so that another process (`serve`, `chroma
    run`) may open the store alone."""
    from chromadb.api.client import SharedSystemClient

    gc.collect()
    SharedSystemClient.clear_system_cache()
    gc.collect()
