"""A bounded load test over real HTTP on 127.0.0.1: a fixed number of requests from N concurrent
clients against a real `assistant serve` process (sample reports, extractive answerer); it
stops by itself and prints throughput and p50/p95 latency per route.

    .venv/bin/python -m tests.load_test [--clients 4] [--requests 200] [--route ask|retrieve|mixed]
    .venv/bin/python -m tests.load_test --url http://127.0.0.1:7860   # against a running server
    .venv/bin/python -m tests.load_test --during-upload 6   # questions while a 6 MB report is indexed
    .venv/bin/python -m tests.load_test --during-eval eval/testsets/sample_reports.jsonl
    .venv/bin/python -m tests.load_test --route ask --clients 10 --conversations   # each client
        asks into its own saved conversation; then every turn is checked saved, in order

Not collected by pytest (the name does not start with test_): numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import httpx

QUESTIONS = ("Who is the CENTCOM chief?", "Who did the Pentagon blame?", "drone attack Anbar",
             "What does McKenzie expect?", "Who won the 2022 World Cup?",
             "Which bases were attacked in Iraq and Syria?")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def run_load(url: str, clients: int, requests: int, route: str, token: str | None = None,
             conversations: bool = False) -> dict:
    """Send `requests` requests from `clients` threads; returns the numbers. With
    `conversations`, each client asks into a saved conversation of its own, and afterwards
    each conversation is read back: `turns_saved` of `turns_sent`, and whether every one holds
    its client's questions in the order they were asked."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {"ask": [], "retrieve": []}
    statuses: dict[int, int] = {}
    asked: dict[str, list[str]] = {}  # conversation id: the questions its client asked, in order

    def client() -> None:
        conversation, sent = "new", []
        with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    break
                kind = route if route != "mixed" else ("ask", "retrieve")[i % 2]
                q = QUESTIONS[i % len(QUESTIONS)]
                body = {"question": q} if kind == "ask" else {"query": q}
                if conversations and kind == "ask":
                    body["conversation"] = conversation
                started = time.perf_counter()
                try:
                    response = c.post(f"/v1/{kind}", json=body)
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - started) * 1000
                if "conversation" in body and status == 200:
                    conversation = response.json()["conversation"]
                    sent.append(q)
                with lock:
                    latencies[kind].append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
        if sent:
            with lock:
                asked[conversation] = sent

    # Warm-up: the first request of each kind pays for lazy loading.
    with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
        c.post("/v1/ask", json={"question": QUESTIONS[0]})
        c.post("/v1/retrieve", json={"query": QUESTIONS[0]})
    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    every = [v for values in latencies.values() for v in values]
    result = {
        "clients": clients, "requests": requests, "route": route, "seconds": round(seconds, 2),
        "throughput_rps": round(len(every) / seconds, 2), "statuses": statuses,
        "p50_ms": round(percentile(every, 50), 1), "p95_ms": round(percentile(every, 95), 1),
    }
    for kind, values in latencies.items():
        if values:
            result[f"{kind}_p50_ms"] = round(statistics.median(values), 1)
            result[f"{kind}_p95_ms"] = round(percentile(values, 95), 1)
    if conversations:
        saved = {}
        with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
            for conversation in asked:
                turns = c.get(f"/v1/conversations/{conversation}").json()["turns"]
                saved[conversation] = [t["question"] for t in turns]
        result |= {"conversations": len(asked), "turns_sent": sum(map(len, asked.values())),
                   "turns_saved": sum(map(len, saved.values())), "saved_in_order": saved == asked}
    return result


def large_report(size_bytes: int) -> bytes:
    """A plain-text report of about `size_bytes`: numbered, varied sentences in paragraphs."""
    lines, size, i = ["Ferry traffic report."], 0, 0
    while size < size_bytes:
        line = (f"On day {i} the ferry from Port {i % 97} carried {i * 7 % 1000} passengers and "
                f"{i * 13 % 500} tonnes of grain to Halford, the harbor office said.")
        lines.append(line if i % 8 else "\n" + line)
        size += len(line) + 1
        i += 1
    return "\n".join(lines).encode()


def run_during_upload(url: str, size_mb: float, clients: int, requests: int,
                      token: str | None = None, pause: float = 0.25) -> dict:
    """Upload a report of `size_mb` and, while it is indexed, ask questions (see `run_during`)."""
    body = large_report(int(size_mb * 1_000_000))
    name = f"large-{time.time_ns()}.txt"  # new content each run: it is really indexed

    def upload(c: httpx.Client) -> dict:
        r = c.post("/v1/documents", files=[("files", (name, body, "text/plain"))])
        return {"upload_mb": size_mb, "upload_status": r.status_code}

    return run_during(url, upload, clients, requests, token, pause)


def run_during_eval(url: str, testset: Path, clients: int, requests: int,
                    token: str | None = None, pause: float = 0.25) -> dict:
    """Evaluate the server's index on `testset` (`POST /v1/evals`, polled to its end) and, while
    it runs, ask questions (see `run_during`)."""

    def evaluate(c: httpx.Client) -> dict:
        r = c.post("/v1/evals", files={"file": (testset.name, testset.read_bytes())})
        if r.status_code != 200:
            return {"eval_status": r.status_code, "error": r.text}
        status = r.json()
        while status["status"] == "running":
            time.sleep(0.5)
            status = c.get(f"/v1/evals/{status['id']}").json()
        return {"eval_status": status["status"], "eval_questions": status["done"]}

    return run_during(url, evaluate, clients, requests, token, pause)


def run_during(url: str, work: Callable[[httpx.Client], dict], clients: int, requests: int,
               token: str | None = None, pause: float = 0.25) -> dict:
    """Run `work` (an upload, an evaluation) and, while it runs, ask questions (ask and retrieve
    in turn) from `clients` threads, each waiting `pause` s between them so that they span the
    whole work, at most `requests` in all; returns their latencies, and the work's time and
    outcome."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    done = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    outcome: dict = {}

    def worker() -> None:
        started = time.perf_counter()
        with httpx.Client(base_url=url, headers=headers, timeout=3600) as c:
            outcome.update(work(c))
        outcome["work_seconds"] = round(time.perf_counter() - started, 2)
        done.set()

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
            i = offset
            while not done.is_set():
                with lock:
                    if len(latencies) >= requests:
                        return
                q = QUESTIONS[i % len(QUESTIONS)]
                kind = ("ask", "retrieve")[i % 2]
                started = time.perf_counter()
                try:
                    status = c.post(f"/v1/{kind}", json={"question": q} if kind == "ask"
                                    else {"query": q}).status_code
                except httpx.HTTPError:
                    status = 0
                with lock:
                    if not done.is_set():  # only what was answered while the work ran
                        latencies.append((time.perf_counter() - started) * 1000)
                        statuses[status] = statuses.get(status, 0) + 1
                i += clients
                done.wait(pause)

    with httpx.Client(base_url=url, headers=headers, timeout=300) as c:  # warm-up
        c.post("/v1/ask", json={"question": QUESTIONS[0]})
    threads = [threading.Thread(target=worker)]
    threads += [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result: dict = {**outcome, "clients": clients, "questions": len(latencies), "statuses": statuses}
    if latencies:
        result |= {"p50_ms": round(percentile(latencies, 50), 1),
                   "p95_ms": round(percentile(latencies, 95), 1),
                   "max_ms": round(max(latencies), 1)}
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--route", choices=("ask", "retrieve", "mixed"), default="mixed")
    parser.add_argument("--token", help="ASSISTANT_API_TOKEN of the server, if it has one")
    parser.add_argument("--during-upload", type=float, metavar="MB",
                        help="instead: questions while a report of MB megabytes is uploaded")
    parser.add_argument("--during-eval", type=Path, metavar="TESTSET",
                        help="instead: questions while the server evaluates its index on TESTSET")
    parser.add_argument("--conversations", action="store_true",
                        help="each client asks into its own saved conversation (then all are checked)")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    server = None
    if args.url is None:
        from tests.live_server import start_server

        home = Path(tempfile.mkdtemp(prefix="load-")) / "home"
        print("starting a server over the sample reports...", file=sys.stderr)
        server = start_server(home)
    try:
        if args.during_upload:
            result = run_during_upload(args.url or server.url, args.during_upload, args.clients,
                                       args.requests, args.token)
        elif args.during_eval:
            result = run_during_eval(args.url or server.url, args.during_eval, args.clients,
                                     args.requests, args.token)
        else:
            result = run_load(args.url or server.url, args.clients, args.requests, args.route,
                              args.token, args.conversations)
    finally:
        if server is not None:
            from tests.live_server import stop_server

            stop_server(server)
    if args.json or args.during_upload or args.during_eval:
        print(json.dumps(result))
    else:
        print(f"{result['requests']} requests ({result['route']}) from {result['clients']} clients "
              f"in {result['seconds']} s: {result['throughput_rps']} req/s, "
              f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, statuses {result['statuses']}")
        for kind in ("ask", "retrieve"):
            if f"{kind}_p50_ms" in result:
                print(f"  {kind}: p50 {result[f'{kind}_p50_ms']} ms, p95 {result[f'{kind}_p95_ms']} ms")
    failed = sum(n for status, n in result["statuses"].items() if status != 200)
    failed += result.get("upload_status", 200) != 200
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
