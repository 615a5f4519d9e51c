"""`python -m bench --out bench-results/`: ingestion, query latency and memory in one run.

(a) ingestion of the same generated reports by this project and by llama-index's default
    pipeline, each in its own process, timed whole (interpreter start to exit);
(b) retrieve and ask (extractive) latency at 1,000 / 10,000 / 100,000 chunks;
(c) the RSS of a running `assistant serve` at the largest size;
plus embedding throughput against the CPU's measured bf16 matrix-product peak.
Writes OUT/bench.json and OUT/bench.png.

Reaching 100,000 chunks: embedding them all takes hours on 2 cores, so only the generated
reports ingested in (a)-style runs carry real embeddings; the other chunks are synthetic reports
made of realistic generated sentences whose vectors are real chunk vectors plus small Gaussian
noise, renormalized (so the HNSW graph holds realistic, clustered, non-duplicate vectors). They
are written through `ChromaStore.add_documents` and indexed for BM25 like any other chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.config import Settings
from assistant.local_servers import free_port, stop, wait_until_ready
from assistant.plugins import Command
from bench.corpus import CITIES, PEOPLE, TOPICS, sentences, write_corpus

ROOT = Path(__file__).resolve().parent.parent
SCALES = (1_000, 10_000, 100_000)
SYNTHETIC_CHUNKS_PER_DOC = 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The bench options (shared with `assistant bench`)."""
    p.add_argument("--out", default="bench-results", help="folder for bench.json and bench.png")
    p.add_argument("--docs", default="300",
                   help="the reports of the ingestion race: a number of generated ones, or a folder of "
                        "real articles (a development-set build or its docs/), of which the first "
                        "--count are taken")
    p.add_argument("--count", type=int, default=300, help="articles taken from a --docs folder")
    p.add_argument("--scales", default=",".join(str(s) for s in SCALES),
                   help="chunk counts for the latency runs, comma-separated")
    p.add_argument("--queries", type=int, default=40, help="queries per scale")
    p.add_argument("--work", help="scratch folder (default OUT/work)")
    p.add_argument("--keep-store", action="store_true",
                   help="reuse WORK/scale-home from an earlier run instead of building it again")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: ingest,llamaindex,query,server,flops")


# --- (a) ingestion --------------------------------------------------------------------------

def _ingest_run(phase: str, pipeline: str, corpus: Path, work: Path, env: dict[str, str] | None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest_run", phase, pipeline, str(corpus), str(work)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{pipeline} {phase} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_ingest_process(pipeline: str, corpus: Path, work: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run one pipeline in a fresh interpreter that only ingests, timed whole (start to exit);
    then count what it stored, in another process, untimed."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = _ingest_run("ingest", pipeline, corpus, work, env)
    wall = time.perf_counter() - started
    result.update(_ingest_run("measure", pipeline, corpus, work, env))
    result["pipeline"] = pipeline
    result["process_s"] = round(wall, 3)
    result["load_avg_before"] = round(load_before, 2)
    for key in ("documents", "chunks", "embedded_tokens", "doc_tokens"):
        result[f"{key}_per_s"] = round(result[key] / wall, 2)
    result["peak_rss_mb"] = round(result["peak_rss_bytes"] / 2**20, 1)
    return result


# --- (b) query latency ----------------------------------------------------------------------

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


def _percentiles(ms: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(float(np.percentile(ms, 50)), 2),
            "p95_ms": round(float(np.percentile(ms, 95)), 2),
            "mean_ms": round(float(np.mean(ms)), 2), "n": len(ms)}


def grow_store(assistant: Any, target: int, seed: int) -> dict[str, Any]:
    """Add synthetic reports until the store holds about `target` chunks (see module doc)."""
    from index.common.types import DocumentInfo
    from index.ingest import CHUNKS, DOCUMENTS, sync_keyword_indexes

    store = assistant.store
    have = store.count_chunks()
    if have >= target:
        return {"added_chunks": 0}
    rng = np.random.default_rng(seed)
    real_ids = [c.chunk_id for c in store.iter_chunks()][:5000]
    real = np.stack(list(store.chunk_embeddings(real_ids).values()))
    docs_needed = (target - have + SYNTHETIC_CHUNKS_PER_DOC - 1) // SYNTHETIC_CHUNKS_PER_DOC
    pool = sentences(4000, seed=seed)
    started = time.perf_counter()
    batch = []
    for d in range(docs_needed):
        doc_id = f"syn{seed}-{d:07d}"
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
        if len(batch) == 500 or d == docs_needed - 1:
            store.add_documents(batch)
            batch = []
    written = time.perf_counter() - started
    t = time.perf_counter()
    # One full rebuild of each keyword index: they see the writes above as drift from outside.
    sync_keyword_indexes(store, ((assistant.keyword, CHUNKS), (assistant.document_keyword, DOCUMENTS)))
    return {"added_chunks": store.count_chunks() - have, "write_s": round(written, 1),
            "keyword_rebuild_s": round(time.perf_counter() - t, 1)}


def measure_queries(assistant: Any, qs: Sequence[str]) -> dict[str, Any]:
    """Latency of retrieve and ask (the configured answerer; extractive by default)."""
    for q in qs[:3]:  # warm-up: caches, lazy imports
        assistant.ask(q)
    retrieve_ms, ask_ms, refused = [], [], 0
    for q in qs:
        t = time.perf_counter()
        assistant.retrieve(q)
        retrieve_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answer = assistant.ask(q)
        ask_ms.append((time.perf_counter() - t) * 1000)
        refused += answer.refused
    return {"retrieve": _percentiles(retrieve_ms), "ask": _percentiles(ask_ms),
            "refused": refused, "load_avg": round(os.getloadavg()[0], 2)}


def keyword_update_cost(assistant: Any, corpus_dir: Path) -> dict[str, float]:
    """Time to ingest then delete one new report at the current size (keyword index included)."""
    path = write_corpus(corpus_dir, 1, first_seed=900_000)[0]
    t = time.perf_counter()
    assistant.ingest([path], progress=False)
    ingest_s = time.perf_counter() - t
    doc = next(d for d in assistant.store.documents_by_source(str(path.resolve())))[0]
    t = time.perf_counter()
    assistant.delete(doc.doc_id)
    return {"ingest_one_s": round(ingest_s, 3), "delete_one_s": round(time.perf_counter() - t, 3)}


# --- (c) server memory ----------------------------------------------------------------------

def server_memory(home: Path, port: int) -> dict[str, Any]:
    """Start `assistant serve` on the store, ask a few questions over HTTP, read its RSS."""
    import httpx

    exe = Path(sys.executable).parent / "assistant"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "assistant.cli"]
    log = home.parent / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd + ["--home", str(home), "serve", "--port", str(port)],
                                cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        startup = wait_until_ready(f"{url}/health", proc, 600, "assistant serve", log)
        for q in queries(10, seed=3):
            httpx.post(f"{url}/v1/ask", json={"question": q}, timeout=120).raise_for_status()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines() if ":" in line}
        kb = lambda name: int(fields.get(name, "0 kB").split()[0])  # noqa: E731
        health = httpx.get(f"{url}/health", timeout=10).json()
        return {"rss_mb": round(kb("VmRSS") / 1024, 1), "peak_rss_mb": round(kb("VmHWM") / 1024, 1),
                "startup_s": round(startup, 1), "chunks": health["chunks"]}
    finally:
        stop(proc, timeout_s=30)


# --- embedding efficiency -------------------------------------------------------------------

def minilm_flops_per_token(config: dict[str, Any], seq_len: int) -> float:
    """Forward FLOPs per token of a BERT encoder (2 per multiply-add), at sequence length `seq_len`."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    linear = 4 * h * h + 2 * h * i  # Q, K, V, output projections; the two feed-forward matrices
    attention = 2 * seq_len * h  # scores (QK^T) and the weighted sum of values
    return 2.0 * layers * (linear + attention)


def matmul_peak_gflops(dtype_name: str = "bfloat16", threads: int | None = None, n: int = 2048,
                       repeats: int = 5) -> float:
    """Best measured GFLOP/s of an n x n matrix product in `dtype_name` on `threads` threads."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    for _ in range(2):
        a @ b
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(3):
            a @ b
        best = max(best, 3 * 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return round(best, 1)


def embedding_efficiency(texts: Sequence[str]) -> dict[str, Any]:
    """Tokens/s of the project's embedder for each backend and precision, against the bf16 peak.

    The peak is the best of several square bf16 matrix products (1,024 to 4,096) on the same
    threads: the most this CPU did in a plain bf16 GEMM.
    """
    from index.embedding import MODEL_WINDOW, Embedder, default_threads, model_path
    from index.embedding_backends import openvino_available

    config = json.loads((model_path() / "config.json").read_text())
    threads = default_threads()
    peaks = {d: max(matmul_peak_gflops(d, threads, n) for n in (1024, 2048, 4096))
             for d in ("float32", "bfloat16")}
    out: dict[str, Any] = {"threads": threads, "peak_gflops": peaks}
    backends = ("openvino", "torch") if openvino_available() else ("torch",)
    for backend in backends:
        for precision in ("fp32", "bf16", "int8") if backend == "openvino" else ("fp32", "bf16"):
            embedder = Embedder(
                precision, threads=threads, backend=backend, cache=Settings.load().model_cache_path
            )
            tokens = [min(n, MODEL_WINDOW - 2) + 2 for n in embedder.count_tokens(texts)]
            embedder.embed_passages(texts[:16])
            t = time.perf_counter()
            embedder.embed_passages(texts)
            seconds = time.perf_counter() - t
            seq = float(np.mean(tokens))
            flops = minilm_flops_per_token(config, int(seq))
            gflops = sum(tokens) / seconds * flops / 1e9
            out[f"{backend}_{precision}"] = {
                "tokens_per_s": round(sum(tokens) / seconds, 1), "mean_seq_len": round(seq, 1),
                "mflops_per_token": round(flops / 1e6, 2), "achieved_gflops": round(gflops, 1),
                "share_of_bf16_peak": round(gflops / peaks["bfloat16"], 3),
            }
    return out


# --- the run --------------------------------------------------------------------------------


def corpus_files(folder: Path) -> list[Path]:
    """The reports of a corpus folder, in name order."""
    from index.loaders import SUPPORTED_SUFFIXES

    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)


def bench_corpus(docs: str, count: int, work: Path) -> Path:
    """The folder both pipelines ingest: `docs` generated reports when it is a number, else the
    first `count` articles (name order) of the folder `docs` (or of its `docs/`), copied so
    that no sidecar or other file rides along. ValueError names a folder with too few."""
    if docs.isdigit():
        corpus = work / f"corpus-{docs}"
        write_corpus(corpus, int(docs))
        return corpus
    source = Path(docs)
    source = source / "docs" if (source / "docs").is_dir() else source
    if not source.is_dir():
        raise ValueError(f"--docs {docs}: not a number and not a folder")
    chosen = corpus_files(source)[:count]
    if len(chosen) < count:
        raise ValueError(f"--docs {docs}: {len(chosen)} articles in {source}, --count asks for {count}")
    corpus = work / f"corpus-{source.parent.name}-{source.name}-{count}"
    shutil.rmtree(corpus, ignore_errors=True)
    corpus.mkdir(parents=True)
    for path in chosen:
        shutil.copyfile(path, corpus / path.name)
    return corpus

def run(args: argparse.Namespace) -> dict[str, Any]:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else out / "work"
    work.mkdir(parents=True, exist_ok=True)
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    corpus = bench_corpus(args.docs, args.count, work)
    previous = out / "bench.json"
    results: dict[str, Any] = {}
    if skip and previous.exists():  # a partial run keeps the other parts of the last full run
        results = json.loads(previous.read_text())
    results |= {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "cpu_bf16": __import__("index.cpu", fromlist=["x"]).cpu_has_bf16(),
                    "cpu_int8": __import__("index.cpu", fromlist=["x"]).cpu_has_int8(),
                    "load_avg_start": [round(x, 2) for x in os.getloadavg()]},
        "corpus": {"documents": len(corpus_files(corpus)), "folder": str(corpus),
                   "source": "generated" if args.docs.isdigit() else str(Path(args.docs).resolve())},
    }

    def save() -> None:
        (out / "bench.json").write_text(json.dumps(results, indent=2))

    if "ingest" not in skip:
        ingest: dict[str, Any] = {}
        ingest["project"] = run_ingest_process("project", corpus, work / "ingest-project")
        print("project ingestion:", json.dumps(ingest["project"]), flush=True)
        if "llamaindex" not in skip:
            ingest["llamaindex"] = run_ingest_process("llamaindex", corpus, work / "ingest-llamaindex")
            print("llama-index ingestion:", json.dumps(ingest["llamaindex"]), flush=True)
            ingest["speedup_process"] = round(
                ingest["llamaindex"]["process_s"] / ingest["project"]["process_s"], 2)
            ingest["speedup_ingest_only"] = round(
                ingest["llamaindex"]["ingest_s"] / ingest["project"]["ingest_s"], 2)
            ingest["embedded_tokens_per_s_ratio"] = round(
                ingest["project"]["embedded_tokens_per_s"] / ingest["llamaindex"]["embedded_tokens_per_s"], 2)
        results["ingestion"] = ingest
        save()

    if "flops" not in skip:
        texts = [p.read_text()[:1200] for p in corpus_files(corpus)[:96]]
        results["embedding"] = embedding_efficiency(texts)
        print("embedding:", json.dumps(results["embedding"]), flush=True)
        save()

    scales = [int(s) for s in args.scales.split(",") if s]
    if "query" not in skip and scales:
        from assistant.core import Assistant

        home = work / "scale-home"
        if not args.keep_store:
            shutil.rmtree(home, ignore_errors=True)
        assistant = Assistant.open(Settings.load({"home": home}, environ={}))
        assistant.ingest([corpus], progress=False)  # unchanged when the store is kept
        qs = queries(args.queries)
        results["queries"] = []
        for scale in scales:
            grown = grow_store(assistant, scale, seed=scale)
            real_chunks = sum(d.chunks for d in assistant.store.documents()
                              if not d.source.startswith("synthetic/"))
            row = {"chunks": assistant.store.count_chunks(),
                   "real_chunks": real_chunks, "growth": grown}
            row.update(measure_queries(assistant, qs))
            row["keyword_update"] = keyword_update_cost(assistant, work / "one-more")
            results["queries"].append(row)
            print("queries:", json.dumps(row), flush=True)
            save()
        del assistant
        if "server" not in skip:
            results["server"] = server_memory(home, free_port())
            print("server:", json.dumps(results["server"]), flush=True)
    save()
    plot(results, out / "bench.png")
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """Ingestion times and latency against store size, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    ingest = results.get("ingestion", {})
    names = [n for n in ("project", "llamaindex") if n in ingest]
    if names:
        bars = left.bar(names, [ingest[n]["process_s"] for n in names], color=["#2a7", "#999"][: len(names)])
        for bar, n in zip(bars, names):
            left.annotate(f"{ingest[n]['coverage']['mean']:.0%} text embedded",
                          (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=8)
        left.set_ylabel("seconds, whole process")
        left.set_title(f"Ingesting {results['corpus']['documents']} reports")
    rows = results.get("queries", [])
    if rows:
        x = [r["chunks"] for r in rows]
        for op, colour in (("retrieve", "#27a"), ("ask", "#a52")):
            right.plot(x, [r[op]["p50_ms"] for r in rows], "o-", color=colour, label=f"{op} p50")
            right.plot(x, [r[op]["p95_ms"] for r in rows], "s--", color=colour, label=f"{op} p95")
        right.set_xscale("log")
        right.set_xlabel("chunks in the store")
        right.set_ylabel("ms")
        right.set_title("Query latency")
        right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_bench_from_cli(settings: Any, args: argparse.Namespace) -> int:
    """`assistant bench ...`: the same run (settings are not used: the bench makes its own stores)."""
    run(args)
    return 0


COMMAND = Command(
    help="ingestion speed vs llama-index, latency at 1k/10k/100k chunks, memory",
    add_arguments=add_arguments, run=run_bench_from_cli,
)


def main(argv: Sequence[str] | None = None) -> int:
    results = run(_parser().parse_args(argv))
    print(json.dumps({k: results[k] for k in results if k != "corpus"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
