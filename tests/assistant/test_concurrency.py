"""Readers and writers at once over real HTTP (a real `assistant serve` process): questions asked
while uploads are indexed all succeed, every answer keeps the citation contract, /health never
goes backwards, and two uploads at the same moment both land."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.assistant.test_api import ANSWERED
from tests.conftest import ROOT
from tests.contract import assert_answer_contract
from tests.live_server import LiveServer, start_server, stop_server

pytestmark = pytest.mark.server

READERS = 4
QUESTIONS = (ANSWERED, "Who did the Pentagon blame?", "drone attack Anbar",
             "Who won the 2022 World Cup?")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("concurrency") / "home")
    yield live
    stop_server(live)


def _report(name: str, n: int) -> bytes:
    lines = [f"{name} report {n}."]
    lines += [f"Item {i}: the ferry from {name} carried {i * 7 + n} passengers on day {i}."
              for i in range(40)]
    return "\n".join(lines).encode()


def test_questions_during_uploads_never_fail_or_tear(server: LiveServer) -> None:
    stop = threading.Event()
    errors: list[str] = []
    answers = 0
    healths: list[tuple[float, int, int]] = []
    lock = threading.Lock()

    def reader(i: int) -> None:
        nonlocal answers
        with httpx.Client(base_url=server.url, timeout=120) as c:
            n = 0
            while not stop.is_set():
                question = QUESTIONS[(i + n) % len(QUESTIONS)]
                n += 1
                try:
                    r = c.post("/v1/ask", json={"question": question, "k": 3})
                    if r.status_code != 200:
                        errors.append(f"ask {r.status_code}: {r.text[:200]}")
                        continue
                    assert_answer_contract(r.json())
                    h = c.get("/health")
                    assert h.status_code == 200, h.text
                    body = h.json()
                    with lock:
                        answers += 1
                        healths.append((time.monotonic(), body["documents"], body["chunks"]))
                except AssertionError as exc:
                    errors.append(f"contract: {exc}")
                except httpx.HTTPError as exc:
                    errors.append(f"transport: {exc!r}")

    def upload(name: str, results: dict[str, Any]) -> None:
        with httpx.Client(base_url=server.url, timeout=300) as c:
            files = [("files", (f"{name}-{n}.txt", _report(name, n), "text/plain"))
                     for n in range(3)]
            r = c.post("/v1/documents", files=files)
            results[name] = (r.status_code, r.json())

    with httpx.Client(base_url=server.url, timeout=60) as c:
        before = c.get("/health").json()

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(READERS)]
    for t in threads:
        t.start()
    time.sleep(2)
    # Two uploads at the same moment, while the readers ask.
    results: dict[str, Any] = {}
    writers = [threading.Thread(target=upload, args=(name, results)) for name in ("Oslo", "Lagos")]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=600)
    time.sleep(2)
    stop.set()
    for t in threads:
        t.join(timeout=300)

    assert errors == [], errors[:5]
    assert answers >= READERS
    for name in ("Oslo", "Lagos"):
        status, body = results[name]
        assert status == 200, body
        assert sorted(body["added"]) == [f"{name}-{n}.txt" for n in range(3)] and not body["failed"]

    with httpx.Client(base_url=server.url, timeout=60) as c:
        after = c.get("/health").json()
        docs = c.get("/v1/documents").json()["documents"]
    assert after["documents"] == before["documents"] + 6
    assert after["chunks"] == sum(d["chunks"] for d in docs)
    # Never backwards, never half a report: chunks only grow with documents.
    healths.sort()
    for (_, d1, c1), (_, d2, c2) in zip(healths, healths[1:]):
        assert d2 >= d1 and (c2 >= c1 or d2 > d1), healths
    for _, documents, chunks in healths:
        assert before["documents"] <= documents <= after["documents"]
        assert before["chunks"] <= chunks <= after["chunks"]


def test_questions_are_answered_while_a_large_report_is_indexed(server: LiveServer) -> None:
    from tests.load_test import run_during_upload

    # One client asks every 0.2 s while a 1 MB report (about 15 s) is indexed.
    result = run_during_upload(server.url, size_mb=1, clients=1, requests=500, pause=0.2)
    assert result["upload_status"] == 200, result
    assert result["statuses"] == {200: result["questions"]}, result
    assert result["questions"] >= 10, result
    # A question used to wait for the whole report's embedding: most of the upload's time.
    assert result["max_ms"] < result["work_seconds"] * 1000 / 3, result


def test_questions_are_answered_while_the_index_is_evaluated(server: LiveServer) -> None:
    from tests.load_test import run_during_eval

    # One client asks every 0.2 s while the 56 questions of the sample test set are evaluated.
    result = run_during_eval(server.url, ROOT / "eval" / "testsets" / "sample_reports.jsonl",
                             clients=1, requests=500, pause=0.2)
    assert result["eval_status"] == "done" and result["eval_questions"] == 56, result
    assert result["statuses"] == {200: result["questions"]}, result
    assert result["questions"] >= 10, result
    assert result["max_ms"] < result["work_seconds"] * 1000 / 3, result
