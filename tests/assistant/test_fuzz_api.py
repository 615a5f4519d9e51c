"""The API under hostile input, in-process (the real FastAPI app, store and model):
schemathesis fuzzes every route of the OpenAPI spec and no request may get a 5xx; then the
limits one by one (token, body size, question length, k, files per upload, list lengths)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from starlette.testclient import TestClient

from assistant.api import create_app
from assistant.api.limits import MAX_JSON_BODY_BYTES
from assistant.api.routes import MAX_UPLOAD_FILES
from assistant.api.schemas import MAX_FILTER_ITEMS, MAX_HISTORY_TURNS
from assistant.config import MAX_K, Settings
from index.query import MAX_QUERY_CHARS as MAX_QUESTION_CHARS

TOKEN = "fuzz-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = 60  # per route and generation mode: the whole fuzz run stays well under 2 minutes


@pytest.fixture(scope="module")
def app(sample_home: Path, tmp_path_factory: pytest.TempPathFactory):
    """The API over a copy of the indexed sample reports: token required, 1 MB per file."""
    from assistant.core import Assistant

    home = tmp_path_factory.mktemp("fuzz") / "home"
    shutil.copytree(sample_home, home)
    assistant = Assistant.open(Settings.load(
        {"home": home, "api_token": TOKEN, "max_file_mb": 1}, environ={}))
    return create_app(assistant)


@pytest.fixture(scope="module")
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


ROUTES = [("GET", "/health"), ("POST", "/v1/retrieve"), ("POST", "/v1/ask"),
          ("GET", "/v1/documents"), ("POST", "/v1/documents"), ("DELETE", "/v1/documents/{doc_id}"),
          ("POST", "/v1/evals"), ("GET", "/v1/evals"), ("GET", "/v1/evals/{run_id}"),
          ("GET", "/v1/evals/{run_id}/questions"), ("GET", "/v1/evals/{run_id}/report"),
          ("GET", "/v1/evals/{run_id}/files/{name}"), ("POST", "/v1/timeline"),
          ("GET", "/v1/documents/{doc_id}/summary"), ("GET", "/v1/conversations"),
          ("GET", "/v1/conversations/{conversation}"), ("PATCH", "/v1/conversations/{conversation}"),
          ("DELETE", "/v1/conversations/{conversation}"), ("GET", "/v1/conversations/{conversation}/export"),
          ("POST", "/v1/feedback")]


def test_the_fuzzed_routes_are_every_route_of_the_spec(api_schema) -> None:
    spec_routes = {(method.upper(), path) for path, item in api_schema.raw_schema["paths"].items()
                   for method in item}
    assert spec_routes == set(ROUTES)


# schemathesis' own pytest plugin does not run under pytest 9, so its strategies are driven
# with hypothesis directly: valid requests (positive) and invalid ones (negative), every route.
# Negative cases need a constrained input to break: routes without one (no body, or any string
# is a valid doc_id) get valid requests only.
WITH_BODY = {("POST", "/v1/retrieve"), ("POST", "/v1/ask"), ("POST", "/v1/documents"),
             ("POST", "/v1/evals"), ("POST", "/v1/timeline"), ("PATCH", "/v1/conversations/{conversation}"),
             ("POST", "/v1/feedback")}


@pytest.mark.parametrize(("method", "path", "mode"), [
    (method, path, mode) for method, path in ROUTES for mode in ("positive", "negative")
    if mode == "positive" or (method, path) in WITH_BODY
])
def test_no_route_answers_5xx_to_anything(api_schema, method: str, path: str, mode: str) -> None:
    from hypothesis import given
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    operation = api_schema[path][method]
    seen: list[int] = []

    @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def run(case) -> None:
        response = case.call(headers={**AUTH, **(case.headers or {})})
        seen.append(response.status_code)
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"} and "Traceback" not in body["error"], body

    run()
    assert seen and max(seen) < 500


def _error(response, status: int, mentions: str = "") -> None:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and mentions.lower() in body["error"].lower(), body


# --- token -----------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"bearer{TOKEN}",
    f"Token {TOKEN}", f"Basic {TOKEN}", "Bearer \u00e9\u00e9\u00e9".encode("latin-1"),
    f"Bearer {TOKEN}\x00", f"Bearer {TOKEN}".encode() + "\u00e9".encode("latin-1"),
    "Bearer " + "x" * 10_000,
])
def test_every_wrong_token_is_a_401(client: TestClient, header: str | bytes | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for response in (client.get("/v1/documents", headers=headers),
                     client.post("/v1/ask", json={"question": "x"}, headers=headers),
                     client.delete("/v1/documents/x", headers=headers)):
        _error(response, 401, "token")


def test_right_token_in_any_case_of_the_scheme(client: TestClient) -> None:
    for scheme in ("Bearer", "bearer", "BEARER"):
        headers = {"Authorization": f"{scheme} {TOKEN}"}
        assert client.get("/v1/documents", headers=headers).status_code == 200


def test_health_and_openapi_need_no_token(client: TestClient) -> None:
    assert client.get("/health").status_code == 200
    assert client.get("/openapi.json").status_code == 200


# --- request size ----------------------------------------------------------------------------


def test_json_body_over_the_limit_is_a_413_before_it_is_read(client: TestClient) -> None:
    body = b'{"question": "' + b"x" * MAX_JSON_BODY_BYTES + b'"}'
    _error(client.post("/v1/ask", content=body, headers={**AUTH, "Content-Type": "application/json"}),
           413, "limit")
    # Even without the token: a large body is refused before anything else is done with it.
    _error(client.post("/v1/retrieve", content=body, headers={"Content-Type": "application/json"}),
           413, "limit")


def test_chunked_body_over_the_limit_is_a_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(MAX_JSON_BODY_BYTES // 65536 + 2):
            yield b"y" * 65536
        yield b'"}'

    response = client.post("/v1/retrieve", content=chunks(),
                           headers={**AUTH, "Content-Type": "application/json"})
    _error(response, 413, "limit")


def test_bad_content_length_is_a_400(client: TestClient) -> None:
    # TestClient would correct the header, so the app is called at the ASGI level.
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/v1/ask", "raw_path": b"/v1/ask",
             "query_string": b"", "headers": [(b"content-length", b"lots")], "http_version": "1.1",
             "scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1),
             "root_path": ""}
    asyncio.run(client.app(scope, receive, send))
    assert sent[0]["status"] == 400


def test_too_many_files_in_one_upload_is_a_400(client: TestClient) -> None:
    files = [("files", (f"f{i}.txt", b"Short report.", "text/plain"))
             for i in range(MAX_UPLOAD_FILES + 1)]
    _error(client.post("/v1/documents", files=files, headers=AUTH), 400, "limit")


def test_upload_body_may_exceed_the_json_limit(client: TestClient) -> None:
    # 1.2 MB of uploads in one request: over the JSON limit, under the upload limit. The files
    # are junk, so the request is quick: each is reported as failed, not refused as too large.
    junk = bytes(range(256)) * 2400
    files = [("files", ("junk-a.txt", junk, "text/plain")), ("files", ("junk-b.txt", junk, "text/plain"))]
    response = client.post("/v1/documents", files=files, headers=AUTH)
    assert response.status_code == 200, response.text
    assert sorted(f["path"] for f in response.json()["failed"]) == ["junk-a.txt", "junk-b.txt"]


# --- field limits ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "mentions"), [
    ("/v1/ask", {"question": "x" * (MAX_QUESTION_CHARS + 1)}, "question"),
    ("/v1/retrieve", {"query": "x" * (MAX_QUESTION_CHARS + 1)}, "query"),
    ("/v1/ask", {"question": "x", "k": MAX_K + 1}, "k"),
    ("/v1/ask", {"question": "x", "k": -1}, "k"),
    ("/v1/ask", {"question": "x", "k": 2.5}, "k"),
    ("/v1/retrieve", {"query": "x", "k": 2**70}, "k"),
    ("/v1/retrieve", {"query": "x", "doc_ids": ["d"] * (MAX_FILTER_ITEMS + 1)}, "doc_ids"),
    ("/v1/retrieve", {"query": "x", "sources": ["s"] * (MAX_FILTER_ITEMS + 1)}, "sources"),
    ("/v1/ask", {"question": "x", "history": [{"role": "user", "content": "x"}]
                 * (MAX_HISTORY_TURNS + 1)}, "history"),
    ("/v1/ask", {"question": "x", "as_of": "9999-99-99"}, "as_of"),
    ("/v1/retrieve", {"query": "x", "date_to": "2022-02-30"}, "date_to"),
    ("/v1/ask", {"question": "x", "stream": "yes"}, "stream"),
    ("/v1/ask", {"question": "x", "stream": "false"}, "stream"),
])
def test_limits_are_400s_naming_the_field(client: TestClient, path: str, body: dict,
                                          mentions: str) -> None:
    _error(client.post(path, json=body, headers=AUTH), 400, mentions)


def test_largest_allowed_inputs_work(client: TestClient) -> None:
    question = ("Who is the CENTCOM chief? " * 100)[:MAX_QUESTION_CHARS]
    response = client.post("/v1/ask", json={"question": question, "k": MAX_K}, headers=AUTH)
    assert response.status_code == 200, response.text
    retrieved = client.post("/v1/retrieve", json={"query": question, "k": MAX_K,
                                                  "doc_ids": ["d"] * MAX_FILTER_ITEMS},
                            headers=AUTH)
    assert retrieved.status_code == 200 and retrieved.json()["passages"] == []
