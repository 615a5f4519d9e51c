"""`python -m bench --out bench-results/`: ingestion, query latency and memory in one run.

(a) ingestion of the same reports (generated, or the first articles of a real-news build) by this
    project and by llama-index's default pipeline, each in its own process, timed whole
    (interpreter start to exit);
(b) retrieve, ask (extractive) and timeline latency, and adding and deleting one report, with the store
    grown to each of `--scales` chunks (bench/scale.py; 1,000 / 10,000 / 100,000 by default,
    up to 1,000,000 and more when asked);
(c) at the largest size, a fresh `assistant serve`: seconds to its first answer, memory;
(d) the largest store again through a `chroma run` server: latency, add and delete, serve;
plus embedding throughput against the CPU's measured bf16 and int8 matrix-product peaks.
Writes OUT/bench.json and OUT/bench.png.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.config import Settings
from assistant.plugins import Command
from bench import scale
from bench.corpus import write_corpus
from bench.local_servers import free_port

ROOT = Path(__file__).resolve().parent.parent
SCALES = (1_000, 10_000, 100_000)


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
    p.add_argument("--real-news", nargs=2, metavar=("HOME", "TESTSET"),
                   help="also measure ask over a real-news index built in HOME, asked TESTSET's questions")
    p.add_argument("--real-queries", type=int, default=200, help="questions asked of the real-news index")
    p.add_argument("--real-collection", default="reports",
                   help="the real-news index's collection (`eval` for an `assistant eval --docs` run's OUT/.index)")
    p.add_argument("--work", help="scratch folder (default OUT/work)")
    p.add_argument("--keep-store", action="store_true",
                   help="reuse WORK/scale-home from an earlier run, grown only where it is smaller "
                        "than a scale asked for")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: ingest,llamaindex,flops (embedding throughput), "
                        "query (latency by size), server (a fresh `assistant serve` on the largest "
                        "store), chroma-server (the largest store again through `chroma run`)")


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


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("" where it cannot be read)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return ""
    return next((line.partition(":")[2].strip() for line in lines if line.startswith("model name")), "")


# --- embedding efficiency -------------------------------------------------------------------

def minilm_flops_per_token(config: dict[str, Any], seq_len: int) -> float:
    """Forward FLOPs per token of a BERT encoder (2 per multiply-add), at sequence length `seq_len`."""
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    linear = 4 * h * h + 2 * h * i  # Q, K, V, output projections; the two feed-forward matrices
    attention = 2 * seq_len * h  # scores (QK^T) and the weighted sum of values
    return 2.0 * layers * (linear + attention)


def matmul_peak_gflops(dtype_name: str = "bfloat16", threads: int | None = None, n: int = 2048,
                       repeats: int = 5) -> float:
    """Best measured GFLOP/s (GOP/s for int8) of an n x n matrix product in `dtype_name`
    (`float32`, `bfloat16` or `int8`, the last through oneDNN's int8 GEMM, VNNI where the CPU
    has it) on `threads` threads."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    if dtype_name == "int8":
        a = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        b = torch.randint(-128, 128, (n, n), dtype=torch.int8)
        product = lambda: torch._int_mm(a, b)  # noqa: E731  (int8 x int8 -> int32)
    else:
        dtype = getattr(torch, dtype_name)
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        product = lambda: a @ b  # noqa: E731
    for _ in range(2):
        product()
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(3):
            product()
        best = max(best, 3 * 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return round(best, 1)


def embedding_efficiency(texts: Sequence[str]) -> dict[str, Any]:
    """Tokens/s of the project's embedder for each backend and precision, against the CPU's
    peaks: the best of several square matrix products (1,024 to 4,096) on the same threads, in
    fp32, bf16 and int8. Every precision is counted in the model's FLOPs per token, so int8
    throughput is compared with the int8 peak, and the rest with the bf16 one.
    """
    from index import MODEL_WINDOW, Embedder, default_threads, model_path, openvino_available

    config = json.loads((model_path() / "config.json").read_text())
    threads = default_threads()
    peaks = {d: max(matmul_peak_gflops(d, threads, n) for n in (1024, 2048, 4096))
             for d in ("float32", "bfloat16", "int8")}
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
                "share_of_int8_peak": round(gflops / peaks["int8"], 3),
            }
    return out


# --- the run --------------------------------------------------------------------------------


def corpus_files(folder: Path) -> list[Path]:
    """The reports of a corpus folder, in name order."""
    from index import SUPPORTED_SUFFIXES

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
        ingest: dict[str, Any] = {"corpus": results["corpus"]}  # a later partial run may change "corpus"
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
        # The ratio moves with the host: the project embeds in int8 and llama-index in fp32, and
        # hosts of the same kind differ by 2x in int8 and bf16 matrix products, not in fp32
        # (docs/benchmarks.md: Ingestion). The day's peaks and the date go with the record.
        ingest["measured"] = {"date": time.strftime("%Y-%m-%d"), "cpu": cpu_model(),
                              "peak_gops_2_threads": {d: matmul_peak_gflops(d, 2, 2048, repeats=3)
                                                      for d in ("float32", "int8")}}
        results["ingestion"] = ingest
        save()

    if "flops" not in skip:
        texts = [p.read_text()[:1200] for p in corpus_files(corpus)[:96]]
        results["embedding"] = embedding_efficiency(texts)
        print("embedding:", json.dumps(results["embedding"]), flush=True)
        save()

    scales = [int(s) for s in args.scales.split(",") if s]
    home = work / "scale-home"
    if "query" not in skip and scales:
        rows = scale.latency_by_size(corpus, home, scales, args.queries, args.keep_store,
                                     work / "one-more")
        # A run at other sizes (say 1,000,000 alone, on a kept store) adds its rows to the last one's.
        kept = [r for r in results.get("queries", []) if r.get("scale", scales[0]) not in set(scales)]
        results["queries"] = sorted(kept + rows, key=lambda r: r["chunks"])
        save()
    if args.real_news:
        results["real_news"] = scale.real_news_latency(Path(args.real_news[0]), Path(args.real_news[1]),
                                                      args.real_queries, args.real_collection)
        print("real news:", json.dumps(results["real_news"]), flush=True)
        save()
    if "server" not in skip and (home / "chroma").is_dir():
        results["server"] = scale.serve_measure(home, free_port())
        print("server:", json.dumps(results["server"]), flush=True)
        save()
    if "chroma-server" not in skip and (home / "chroma").is_dir():
        results["chroma_server"] = scale.through_chroma_server(
            home, args.queries, work / "one-more", serve="server" not in skip)
        save()
    plot(results, out / "bench.png")
    return results


def plot(results: dict[str, Any], path: Path) -> None:
    """One PNG: the ingestion race; latency against store size (the `chroma run` server's at the
    largest size as separate points); adding and deleting one report against store size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.2))
    ingest = results.get("ingestion", {})
    names = [n for n in ("project", "llamaindex") if n in ingest]
    if names:
        bars = left.bar(names, [ingest[n]["process_s"] for n in names], color=["#2a7", "#999"][: len(names)])
        for bar, n in zip(bars, names):
            left.annotate(f"{ingest[n]['coverage']['mean']:.0%} text embedded",
                          (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                          ha="center", va="bottom", fontsize=8)
        left.set_ylabel("seconds, whole process")
        corpus = ingest.get("corpus", results["corpus"])
        kind = "generated" if corpus["source"] == "generated" else "real"
        left.set_title(f"Ingesting {corpus['documents']} {kind} reports")
    rows = results.get("queries", [])
    server = results.get("chroma_server")
    if rows:
        for op, colour in (("retrieve", "#27a"), ("ask", "#a52"), ("ask_as_of", "#a2a"), ("timeline", "#2a7")):
            timed = [r for r in rows if op in r]  # rows kept from earlier runs may lack `ask_as_of`, `timeline`
            x = [r["chunks"] for r in timed]
            middle.plot(x, [r[op]["p50_ms"] for r in timed], "o-", color=colour, label=f"{op} p50")
            middle.plot(x, [r[op]["p95_ms"] for r in timed], "s--", color=colour, label=f"{op} p95")
            if server and op in server:
                middle.plot([server["chunks"]], [server[op]["p95_ms"]], "D", color=colour, mfc="none",
                            label=f"{op} p95, chroma run")
        middle.set_xscale("log")
        middle.set_xlabel("chunks in the store")
        middle.set_ylabel("ms")
        middle.set_title("Query latency (embedded Chroma)")
        middle.legend(fontsize=7)
        changes = [r for r in rows if "add_delete" in r]
        for key, label, colour in (("ingest_one_s", "add one report", "#2a7"),
                                   ("delete_one_s", "delete one report", "#a27")):
            right.plot([r["chunks"] for r in changes], [r["add_delete"][key] for r in changes], "o-",
                       color=colour, label=label)
            if server:
                right.plot([server["chunks"]], [server["add_delete"][key]], "D", color=colour,
                           mfc="none", label=f"{label}, chroma run")
        right.set_xscale("log")
        right.set_xlabel("chunks in the store")
        right.set_ylabel("seconds")
        right.set_title("Changing one report")
        right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_bench_from_cli(settings: Any, args: argparse.Namespace) -> int:
    """`assistant bench ...`: the same run (settings are not used: the bench makes its own stores)."""
    run(args)
    return 0


COMMAND = Command(
    help="ingestion speed vs llama-index, latency and memory from 1k to 1M chunks",
    add_arguments=add_arguments, run=run_bench_from_cli,
)


def main(argv: Sequence[str] | None = None) -> int:
    results = run(_parser().parse_args(argv))
    print(json.dumps({k: results[k] for k in results if k != "corpus"}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
