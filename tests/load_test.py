"""A bounded load test over real HTTP on 127.0.0.1: a fixed number of requests from N concurrent
clients against a real `assistant serve` process (sample reports, extractive answerer); it
stops by itself and prints throughput and p50/p95 latency per route.

    .venv/bin/python -m tests.load_test [--clients 4] [--requests 200] [--route ask|retrieve|mixed]
    .venv/bin/python -m tests.load_test --url http://127.0.0.1:7860   # against a running server

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

import httpx

QUESTIONS = ("Who is the CENTCOM chief?", "Who did the Pentagon blame?", "drone attack Anbar",
             "What does McKenzie expect?", "Who won the 2022 World Cup?",
             "Which bases were attacked in Iraq and Syria?")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def run_load(url: str, clients: int, requests: int, route: str, token: str | None = None) -> dict:
    """Send `requests` requests from `clients` threads; returns the numbers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    counter = iter(range(requests))
    lock = threading.Lock()
    latencies: dict[str, list[float]] = {"ask": [], "retrieve": []}
    statuses: dict[int, int] = {}

    def client() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as c:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                kind = route if route != "mixed" else ("ask", "retrieve")[i % 2]
                q = QUESTIONS[i % len(QUESTIONS)]
                body = {"question": q} if kind == "ask" else {"query": q}
                started = time.perf_counter()
                try:
                    status = c.post(f"/v1/{kind}", json=body).status_code
                except httpx.HTTPError:
                    status = 0
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies[kind].append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

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
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an already running server (default: start one)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--route", choices=("ask", "retrieve", "mixed"), default="mixed")
    parser.add_argument("--token", help="ASSISTANT_API_TOKEN of the server, if it has one")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    server = None
    if args.url is None:
        from tests.test_api import start_server

        home = Path(tempfile.mkdtemp(prefix="load-")) / "home"
        print("starting a server over the sample reports...", file=sys.stderr)
        server = start_server(home)
    try:
        result = run_load(args.url or server.url, args.clients, args.requests, args.route,
                          args.token)
    finally:
        if server is not None:
            from tests.test_api import stop_server

            stop_server(server)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['requests']} requests ({result['route']}) from {result['clients']} clients "
              f"in {result['seconds']} s: {result['throughput_rps']} req/s, "
              f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, statuses {result['statuses']}")
        for kind in ("ask", "retrieve"):
            if f"{kind}_p50_ms" in result:
                print(f"  {kind}: p50 {result[f'{kind}_p50_ms']} ms, p95 {result[f'{kind}_p95_ms']} ms")
    failed = sum(n for status, n in result["statuses"].items() if status != 200)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
