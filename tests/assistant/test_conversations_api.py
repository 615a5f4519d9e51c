"""Saved conversations and roles over real HTTP: a real `assistant serve` with a users file
(reader, evaluator, admin), the real store and model; restarted on the same home."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.users import add_user
from tests.conftest import ROOT
from tests.live_server import LiveServer, start_server, stop_server

pytestmark = pytest.mark.server

ANSWERED = "Who is the CENTCOM chief?"
FOLLOW_UP = "What does he expect?"
TESTSET = ROOT / "eval" / "testsets" / "sample_reports.jsonl"


@pytest.fixture(scope="module")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("users")
    path = folder / "users.toml"
    return {"file": str(path), **{role: add_user(path, f"{role}-user", role) for role in ("reader", "evaluator", "admin")},
            "reader2": add_user(path, "second-reader", "reader")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tokens: dict[str, str]) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("conversations") / "home", {"ASSISTANT_USERS": tokens["file"]})
    yield live
    stop_server(live)


def _client(server: LiveServer, token: str) -> httpx.Client:
    def no_server_error(response: httpx.Response) -> None:
        assert response.status_code < 500, f"{response.request.url}: {response.status_code}"

    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=180,
                        event_hooks={"response": [no_server_error]})


def _error(response: httpx.Response, status: int, mentions: str) -> None:
    assert response.status_code == status, response.text
    assert list(response.json()) == ["error"] and mentions in response.json()["error"], response.text


def test_a_conversation_keeps_its_turns_and_answers_follow_ups(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["reader"]) as reader:
        first = reader.post("/v1/ask", json={"question": ANSWERED, "conversation": "new"}).json()
        assert first["turn"] == 1 and first["citations"]
        second = reader.post("/v1/ask", json={"question": FOLLOW_UP, "conversation": first["conversation"]}).json()
        # Alone the follow-up is refused (who is "he"?); the saved turns are its history.
        assert (second["conversation"], second["turn"]) == (first["conversation"], 2) and not second["refused"]
        assert any("expect" in c["quote"] for c in second["citations"])
        listed = reader.get("/v1/conversations").json()["conversations"]
        assert listed[0] == {**listed[0], "id": first["conversation"], "title": ANSWERED, "turns": 2}
        saved = reader.get(f"/v1/conversations/{first['conversation']}").json()
        assert [t["question"] for t in saved["turns"]] == [ANSWERED, FOLLOW_UP]
        assert saved["turns"][1]["answer"]["citations"] == second["citations"]
        assert saved["turns"][1]["standalone"] != FOLLOW_UP  # condensed with the history
        assert reader.get("/v1/conversations", params={"q": "expect"}).json()["conversations"][0]["id"] == first["conversation"]
        plain = reader.post("/v1/ask", json={"question": ANSWERED}).json()
        assert "conversation" not in plain  # not saved without a conversation


def test_each_user_sees_only_their_own_conversations(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["reader"]) as reader, _client(server, tokens["reader2"]) as other:
        mine = reader.post("/v1/ask", json={"question": ANSWERED, "conversation": "new"}).json()["conversation"]
        assert mine not in [c["id"] for c in other.get("/v1/conversations").json()["conversations"]]
        for response in (other.get(f"/v1/conversations/{mine}"), other.delete(f"/v1/conversations/{mine}"),
                         other.patch(f"/v1/conversations/{mine}", json={"title": "mine now"}),
                         other.post("/v1/ask", json={"question": ANSWERED, "conversation": mine}),
                         other.post("/v1/feedback", json={"conversation": mine, "turn": 1, "rating": "up"})):
            _error(response, 404, mine)
        assert reader.get(f"/v1/conversations/{mine}").json()["title"] == ANSWERED  # untouched
        _error(reader.get("/v1/conversations/0123456789abcdef"), 404, "no conversation")
        _error(reader.patch(f"/v1/conversations/{mine}", json={"title": ""}), 400, "title")
        _error(reader.patch(f"/v1/conversations/{mine}", json={"title": "   "}), 400, "title")
        assert reader.patch(f"/v1/conversations/{mine}", json={"title": "CENTCOM"}).json()["title"] == "CENTCOM"
        assert reader.post("/v1/feedback", json={"conversation": mine, "turn": 1, "rating": "up",
                                                 "comment": "good"}).json()["feedback"]["rating"] == "up"
        assert reader.get(f"/v1/conversations/{mine}").json()["turns"][0]["feedback"]["comment"] == "good"
        assert reader.delete(f"/v1/conversations/{mine}").json()["id"] == mine
        _error(reader.get(f"/v1/conversations/{mine}"), 404, mine)


def test_a_reader_may_not_change_reports_or_evaluate(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["reader"]) as reader, _client(server, tokens["admin"]) as admin:
        before = admin.get("/v1/documents").json()["documents"]
        doc_id = before[0]["doc_id"]
        _error(reader.post("/v1/documents", files=[("files", ("x.txt", b"Rockets hit.", "text/plain"))]),
               403, "reader-user (reader) may not upload reports")
        _error(reader.delete(f"/v1/documents/{doc_id}"), 403, "may not delete reports")
        _error(reader.post("/v1/evals", files={"file": ("t.jsonl", TESTSET.read_bytes())}), 403, "evaluations")
        _error(reader.get("/v1/evals"), 403, "evaluations")
        assert reader.get("/v1/documents").json()["documents"] == before  # nothing changed
        assert admin.get("/v1/evals").json()["evals"] == []

        added = admin.post("/v1/documents", files=[("files", ("ferry.txt", b"Ferry news. The ferry leaves at six.",
                                                              "text/plain"))]).json()
        assert added["added"] == ["ferry.txt"]
        ferry = next(d for d in admin.get("/v1/documents").json()["documents"] if d["source"] == "ferry.txt")
        assert admin.delete(f"/v1/documents/{ferry['doc_id']}").json()["doc_id"] == ferry["doc_id"]


def test_an_evaluator_runs_and_reads_its_own_evaluations(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["evaluator"]) as evaluator, _client(server, tokens["admin"]) as admin:
        started = evaluator.post("/v1/evals", files={"file": ("sample.jsonl", TESTSET.read_bytes())}).json()
        assert started["by"] == "evaluator-user"
        deadline = time.monotonic() + 300
        while evaluator.get(f"/v1/evals/{started['id']}").json()["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(1)
        assert [r["id"] for r in admin.get("/v1/evals").json()["evals"]] == [started["id"]]  # the admin sees every run
        _error(evaluator.post("/v1/documents", files=[("files", ("x.txt", b"x", "text/plain"))]), 403, "upload")
        with _client(server, tokens["admin"]) as second:
            mine = second.post("/v1/evals", files={"file": ("sample.jsonl", TESTSET.read_bytes())}).json()["id"]
            while second.get(f"/v1/evals/{mine}").json()["status"] == "running":
                time.sleep(1)
        assert [r["id"] for r in evaluator.get("/v1/evals").json()["evals"]] == [started["id"]]
        _error(evaluator.get(f"/v1/evals/{mine}"), 404, mine)


def test_the_export_resolves_citations_and_outlives_the_report(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["admin"]) as admin:
        text = b"Harbor report. The harbor master of Port Vale is Ada Okafor, appointed in May."
        admin.post("/v1/documents", files=[("files", ("harbor.txt", text, "text/plain"))])
        answer = admin.post("/v1/ask", json={"question": "Who is the harbor master of Port Vale?",
                                             "conversation": "new"}).json()
        quote = answer["citations"][0]["quote"]
        assert "Ada Okafor" in quote
        harbor = next(d for d in admin.get("/v1/documents").json()["documents"] if d["source"] == "harbor.txt")
        admin.delete(f"/v1/documents/{harbor['doc_id']}")
        exported = admin.get(f"/v1/conversations/{answer['conversation']}/export", params={"format": "md"})
        assert exported.headers["content-type"].startswith("text/markdown")
        markdown = exported.text
        assert markdown.startswith("# Who is the harbor master of Port Vale?")
        assert f'[{answer["citations"][0]["n"]}] ' in markdown and "`harbor.txt`" in markdown and quote in markdown
        as_json = admin.get(f"/v1/conversations/{answer['conversation']}/export", params={"format": "json"}).json()
        assert as_json["turns"][0]["answer"]["citations"][0]["quote"] == quote
        _error(admin.get(f"/v1/conversations/{answer['conversation']}/export", params={"format": "pdf"}), 400, "format")


def test_ten_clients_asking_at_once_lose_no_turn(server: LiveServer, tokens: dict[str, str]) -> None:
    from tests.load_test import run_load

    result = run_load(server.url, clients=10, requests=40, route="ask", token=tokens["reader2"], conversations=True)
    assert result["statuses"] == {200: 40}
    assert (result["conversations"], result["turns_sent"], result["turns_saved"]) == (10, 40, 40)
    assert result["saved_in_order"]


def test_a_restart_keeps_the_conversations(server: LiveServer, tokens: dict[str, str]) -> None:
    with _client(server, tokens["reader2"]) as reader:
        mine = reader.post("/v1/ask", json={"question": ANSWERED, "conversation": "new"}).json()["conversation"]
    stop_server(server)
    again = start_server(server.home, {"ASSISTANT_USERS": tokens["file"]})
    try:
        with _client(again, tokens["reader2"]) as reader:
            assert mine in [c["id"] for c in reader.get("/v1/conversations").json()["conversations"]]
            follow = reader.post("/v1/ask", json={"question": FOLLOW_UP, "conversation": mine}).json()
            assert follow["turn"] == 2 and not follow["refused"]
    finally:
        stop_server(again)
        server.process = again.process  # the module's fixture stops what runs now (already stopped)


def test_a_users_file_that_does_not_parse_stops_the_server_at_start(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    users.write_text('[users.alice]\nrole = "reader"\ntoken_sha256 = "abc\n')
    done = subprocess.run([str(Path(sys.executable).parent / "assistant"), "--home", str(tmp_path / "home"),
                           "serve", "--port", "1"], env={"ASSISTANT_USERS": str(users), "HF_HUB_OFFLINE": "1",
                                                         "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 1
    assert f"users file {users}: not valid TOML" in done.stderr and "line 3" in done.stderr
