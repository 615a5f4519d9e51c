"""The HTTP API over real HTTP: a real `assistant serve` process, the real store and model."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.config import MAX_K
from assistant.uploads import safe_upload_name
from index.common.errors import InputError
from tests.contract import assert_answer_contract
from tests.live_server import AUTH, TOKEN, LiveServer, module_server

pytestmark = pytest.mark.server

ANSWERED = "Who is the CENTCOM chief?"
PASSAGE_KEYS = {"doc_id", "title", "source", "date", "chunk_id", "start", "end", "text", "score"}


# One server for the module: token required, 1 MB upload limit.
server = module_server("api", {"ASSISTANT_MAX_FILE_MB": "1"})


def _no_server_error(response: httpx.Response) -> None:
    # Every call of every test goes through this: the API must never answer 5xx.
    assert response.status_code < 500, f"{response.request.url}: {response.status_code}"


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client with the token, failing on any 5xx."""
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=120,
                      event_hooks={"response": [_no_server_error]}) as c:
        yield c


@pytest.fixture
def anonymous(server: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client without the token."""
    with httpx.Client(base_url=server.url, timeout=60,
                      event_hooks={"response": [_no_server_error]}) as c:
        yield c


def _assert_error(response: httpx.Response, status: int | tuple[int, ...],
                  mentions: str = "") -> str:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str)
    assert "Traceback" not in body["error"]
    assert mentions.lower() in body["error"].lower(), body["error"]
    return body["error"]


def _parse_sse(lines: Iterator[str]) -> list[tuple[str, dict[str, Any]]]:
    events, name, data = [], None, []
    for line in lines:
        if line == "":
            if name is not None:
                events.append((name, json.loads("\n".join(data))))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[len("event:"):].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:"):].strip())
    return events


# --- health, docs, token -------------------------------------------------------------------------


def test_health_needs_no_token(anonymous: httpx.Client) -> None:
    body = anonymous.get("/health").json()
    assert body["status"] == "ok" and body["documents"] >= 1 and body["chunks"] >= body["documents"]


def test_openapi_and_offline_docs(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/openapi.json").json()
    for path in ("/health", "/v1/retrieve", "/v1/ask", "/v1/documents", "/v1/documents/{doc_id}"):
        assert path in spec["paths"]
    docs = anonymous.get("/docs")
    assert docs.status_code == 200 and "/docs-static/swagger-ui-bundle.js" in docs.text
    assert "cdn." not in docs.text  # served from the installed package, works offline
    assert anonymous.get("/docs-static/swagger-ui-bundle.js").status_code == 200


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN}, {"Authorization": "Basic x"}])
def test_v1_needs_the_token(anonymous: httpx.Client, headers: dict[str, str]) -> None:
    for response in (anonymous.get("/v1/documents", headers=headers),
                     anonymous.post("/v1/retrieve", json={"query": "x"}, headers=headers),
                     anonymous.post("/v1/ask", content=b"{bad", headers=headers)):
        _assert_error(response, 401, "token")


def test_right_token_is_accepted(anonymous: httpx.Client) -> None:
    assert anonymous.get("/v1/documents", headers=AUTH).status_code == 200


def _raw_request(server: LiveServer, head: str, timeout: float = 10) -> bytes:
    """Send only a request's head (no body); return the response the server sends meanwhile
    (its head and as much of its body as it announced), or what came before `timeout`."""
    import socket

    host, port = server.url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(head.encode())
        while True:
            try:
                block = sock.recv(65536)
            except TimeoutError:
                return answer
            answer += block
            top, _, body = answer.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", top)
            if not block or (length and len(body) >= int(length.group(1))):
                return answer


def test_the_token_is_checked_before_the_upload_body_is_read(server: LiveServer) -> None:
    # The body is announced but never sent: the answer may not wait for it.
    head = ("POST /v1/documents HTTP/1.1\r\nHost: x\r\nContent-Length: 900000\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n\r\n")
    answer = _raw_request(server, head)
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"token" in answer


def test_an_upload_request_is_limited_to_about_one_file(client: httpx.Client,
                                                        server: LiveServer) -> None:
    part = b"Harbor report number one. " * 30_000  # 0.78 MB: each file is under the 1 MB limit
    response = _upload(client, ("one.txt", part), ("two.txt", part), ("three.txt", part))
    _assert_error(response, 413, "limit")
    assert not (server.home / "uploads" / "one.txt").exists()


# --- questions -----------------------------------------------------------------------------------


def test_retrieve_returns_k_passages_with_exact_text(client: httpx.Client) -> None:
    passages = client.post("/v1/retrieve", json={"query": ANSWERED, "k": 2}).json()["passages"]
    assert len(passages) == 2
    for p in passages:
        assert set(p) == PASSAGE_KEYS and len(p["text"]) == p["end"] - p["start"]
    assert "McKenzie" in passages[0]["text"]


def test_retrieve_filters(client: httpx.Client) -> None:
    doc_id = client.get("/v1/documents").json()["documents"][0]["doc_id"]
    only = client.post("/v1/retrieve", json={"query": ANSWERED, "doc_ids": [doc_id]}).json()
    assert only["passages"] and {p["doc_id"] for p in only["passages"]} == {doc_id}
    none = client.post("/v1/retrieve", json={"query": ANSWERED, "doc_ids": ["no-such-doc"]})
    assert none.status_code == 200 and none.json()["passages"] == []
    _assert_error(client.post("/v1/retrieve", json={"query": "x", "date_from": "yesterday"}),
                  400, "date_from")


def test_ask_returns_an_answer_with_exact_citations(client: httpx.Client) -> None:
    answer = client.post("/v1/ask", json={"question": ANSWERED, "k": 3}).json()
    assert set(answer) == {"answer", "refused", "short", "citations", "passages", "timings_ms", "stats"}
    assert "McKenzie" in answer["answer"]
    assert len(answer["passages"]) <= 3
    assert not answer["refused"]
    assert_answer_contract(answer)


def test_ask_streams_deltas_then_the_answer(client: httpx.Client) -> None:
    with client.stream("POST", "/v1/ask", json={"question": ANSWERED, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        events = _parse_sse(r.iter_lines())
    names = [name for name, _ in events]
    assert names[-1] == "answer" and names.count("answer") == 1
    assert names[:-1] and set(names[:-1]) == {"delta"}
    answer = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == answer["answer"]
    assert not answer["refused"]
    assert_answer_contract(answer)


def test_streaming_bad_input_is_a_json_400(client: httpx.Client) -> None:
    _assert_error(client.post("/v1/ask", json={"question": " ", "stream": True}), 400, "question")


def test_ask_with_history(client: httpx.Client) -> None:
    history = [{"role": "user", "content": "Who is the CENTCOM chief?"},
               {"role": "assistant", "content": "Gen. Frank McKenzie [1]"}]
    response = client.post("/v1/ask", json={"question": "What does he expect?", "history": history})
    assert response.status_code == 200 and isinstance(response.json()["refused"], bool)


@pytest.mark.parametrize(("path", "body", "mentions"), [
    ("/v1/ask", b'{"question": "who', "json"),
    ("/v1/ask", b"[1, 2]", "body"),
    ("/v1/ask", b"{}", "question"),
    ("/v1/retrieve", b'{"k": 3}', "query"),
    ("/v1/ask", b'{"question": "x", "k": 0}', "k"),
    ("/v1/ask", b'{"question": "x", "k": 10000}', "k"),
    ("/v1/retrieve", b'{"query": "x", "k": 0}', "k"),
    ("/v1/retrieve", b'{"query": "x", "k": %d}' % (MAX_K + 1), "k"),
    ("/v1/retrieve", b'{"query": "x", "k": "five"}', "k"),
    ("/v1/retrieve", b'{"query": "x", "k": true}', "k"),
    ("/v1/ask", b'{"question": "x", "history": [{"role": "robot", "content": "x"}]}', "role"),
    ("/v1/ask", b'{"question": "x", "history": "no"}', "history"),
    ("/v1/ask", b'{"question": "x", "as_of": "05/01/2022"}', "as_of"),
    ("/v1/ask", b'{"question": "x", "stream": "yes"}', "stream"),
    ("/v1/ask", b'{"question": "x", "stream": 1}', "stream"),
    ("/v1/ask", b'{"question": "' + b"x" * 3000 + b'"}', "question"),
])
def test_bad_input_is_a_json_400(client: httpx.Client, path: str, body: bytes,
                                 mentions: str) -> None:
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    _assert_error(response, 400, mentions)


def test_unknown_v1_route_is_a_json_404(client: httpx.Client) -> None:
    _assert_error(client.get("/v1/nothing-here"), 404)


# --- documents -----------------------------------------------------------------------------------


def _upload(client: httpx.Client, *files: tuple[str, bytes]) -> httpx.Response:
    return client.post("/v1/documents",
                       files=[("files", (name, data, "application/octet-stream"))
                              for name, data in files])


def test_upload_list_and_delete(client: httpx.Client, server: LiveServer) -> None:
    text = b"Harbor report. The harbor master of Port Vale is Ada Okafor, appointed in May."
    report = _upload(client, ("harbor.txt", text), ("notes.md", b"# Notes\nThe ferry runs daily."))
    body = report.json()
    assert report.status_code == 200 and sorted(body["added"]) == ["harbor.txt", "notes.md"]
    assert body["failed"] == [] and body["documents"] >= 3
    assert (server.home / "uploads" / "harbor.txt").read_bytes() == text
    assert _upload(client, ("harbor.txt", text)).json()["unchanged"] == ["harbor.txt"]

    docs = client.get("/v1/documents").json()["documents"]
    harbor = next(d for d in docs if d["source"] == "harbor.txt")
    assert set(harbor) == {"doc_id", "title", "source", "date", "date_source", "chunks", "chars", "aliases"}

    deleted = client.delete(f"/v1/documents/{harbor['doc_id']}")
    assert deleted.status_code == 200 and deleted.json() == harbor
    assert not (server.home / "uploads" / "harbor.txt").exists()  # its upload went with it
    assert (server.home / "uploads" / "notes.md").exists()
    remaining = client.get("/v1/documents").json()["documents"]
    assert all(d["doc_id"] != harbor["doc_id"] for d in remaining)
    _assert_error(client.delete(f"/v1/documents/{harbor['doc_id']}"), 404, harbor["doc_id"])


def test_upload_with_a_date_gives_every_file_that_date(client: httpx.Client,
                                                        server: LiveServer) -> None:
    files = [("files", (name, text, "text/plain")) for name, text in (
        ("dated-one.txt", b"Dated report. The lighthouse of Port Vale was repainted."),
        ("dated-two.txt", b"Dated report. The Port Vale ferry got a new captain."))]
    response = client.post("/v1/documents", files=files, data={"date": "2021-06-01"})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["added"]) == ["dated-one.txt", "dated-two.txt"]
    docs = {d["source"]: d for d in client.get("/v1/documents").json()["documents"]}
    for name in ("dated-one.txt", "dated-two.txt"):
        assert (docs[name]["date"], docs[name]["date_source"]) == ("2021-06-01", "given")


@pytest.mark.parametrize("bad", ["2021-13-01", "yesterday", "2021-02-30", "01/06/2021"])
def test_upload_with_a_bad_date_is_a_400_and_keeps_nothing(client: httpx.Client,
                                                           server: LiveServer, bad: str) -> None:
    before = client.get("/v1/documents").json()["documents"]
    files = [("files", ("undated.txt", b"Undated report. The Port Vale pier is closed.",
                        "text/plain"))]
    _assert_error(client.post("/v1/documents", files=files, data={"date": bad}), 400, "date")
    assert client.get("/v1/documents").json()["documents"] == before
    assert not (server.home / "uploads" / "undated.txt").exists()


def test_the_upload_date_is_in_the_openapi_spec(anonymous: httpx.Client) -> None:
    spec = anonymous.get("/openapi.json").json()
    upload = spec["paths"]["/v1/documents"]["post"]["requestBody"]["content"]
    ref = upload["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert "date" in spec["components"]["schemas"][ref]["properties"]


def test_upload_of_a_long_non_ascii_name(client: httpx.Client, server: LiveServer) -> None:
    name = "報" * 80 + ".txt"  # 80 characters, 244 bytes: more than a file name may have
    response = _upload(client, (name, b"Harbor report. The ferry to Port Vale runs at noon."))
    assert response.status_code == 200, response.text
    [saved] = response.json()["added"]
    assert saved.endswith(".txt") and saved.startswith("報") and len(saved.encode()) <= 200
    assert (server.home / "uploads" / saved).is_file()


def test_a_failed_upload_is_not_kept(client: httpx.Client, server: LiveServer) -> None:
    response = _upload(client, ("blank.txt", b"   \n"), ("kept.txt", b"Harbor report. Kept."))
    body = response.json()
    assert [f["path"] for f in body["failed"]] == ["blank.txt"] and body["added"] == ["kept.txt"]
    assert not (server.home / "uploads" / "blank.txt").exists()
    assert (server.home / "uploads" / "kept.txt").exists()


@pytest.mark.parametrize("body", [
    {"query": "What happened last week?", "as_of": "0001-01-03"},
    {"query": "What happened in the past 5000 years?"},
    {"query": "What happened today?", "as_of": "9999-12-31"},
])
def test_time_frames_at_the_calendar_edges_are_answered(client: httpx.Client, body: dict) -> None:
    assert client.post("/v1/retrieve", json=body).status_code == 200
    question = {("question" if key == "query" else key): value for key, value in body.items()}
    assert client.post("/v1/ask", json=question).status_code == 200


def test_upload_rejects_unsupported_types(client: httpx.Client, server: LiveServer) -> None:
    _assert_error(_upload(client, ("tool.exe", b"MZ\x90\x00")), (400, 415), ".exe")
    # A bad file rejects the whole request: the good one is not written either.
    _assert_error(_upload(client, ("fine.txt", b"Fine."), ("x.sh", b"rm -rf /")), (400, 415))
    assert not (server.home / "uploads" / "fine.txt").exists()


def test_upload_rejects_oversized_files(client: httpx.Client, server: LiveServer) -> None:
    big = b"The same sentence again. " * 60_000  # 1.5 MB, over the 1 MB limit of this server
    _assert_error(_upload(client, ("big.txt", big)), 413, "limit")
    assert not (server.home / "uploads" / "big.txt").exists()


@pytest.mark.parametrize("name", ["../../evil.txt", "/tmp/evil.txt", "..\\..\\evil.txt",
                                  "a/../../evil.txt"])
def test_upload_names_cannot_escape_the_uploads_folder(client: httpx.Client, server: LiveServer,
                                                       name: str) -> None:
    outside = Path("/tmp/evil.txt")
    existed = outside.exists()
    response = _upload(client, (name, b"Evil report. The evil plan is harmless."))
    assert response.status_code in (200, 400), response.text
    uploads = (server.home / "uploads").resolve()
    written = [p.resolve() for p in server.home.parent.rglob("evil.txt")]
    assert all(p.parent == uploads for p in written), written
    assert outside.exists() == existed
    if response.status_code == 200:
        assert (response.json()["added"] + response.json()["unchanged"]) == ["evil.txt"]


def test_upload_without_files_is_a_400(client: httpx.Client) -> None:
    _assert_error(client.post("/v1/documents", data={"x": "1"}), 400, "files")


@pytest.mark.parametrize("raw", ["../x.txt", "/etc/x.txt", "C:\\x\\x.txt", "..", ".x.txt",
                                 "a\x00.txt", "", "we<i>rd na;me.txt"])
def test_safe_upload_name(raw: str) -> None:
    try:
        name = safe_upload_name(raw)
    except InputError:
        assert raw in ("..", "", "a\x00.txt")
        return
    assert raw not in ("..", "", "a\x00.txt")
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert name.endswith(".txt")
