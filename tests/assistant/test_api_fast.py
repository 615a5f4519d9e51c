"""The HTTP API's shapes (docs/interface.md) over the fakes of tests/fakes.py, in process."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from assistant.api import create_app
from tests.contract import assert_answer_contract

pytestmark = pytest.mark.fast

QUESTION = "Who did the Pentagon blame for the attacks?"


@pytest.fixture
def client(fake_assistant) -> TestClient:
    return TestClient(create_app(fake_assistant))


def _events(body: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in body.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_health_counts_what_is_indexed(client: TestClient, fake_assistant) -> None:
    assert client.get("/health").json() == fake_assistant.health()


def test_ask_returns_the_spec_shape(client: TestClient, fake_assistant) -> None:
    answer = client.post("/v1/ask", json={"question": QUESTION}).json()
    assert set(answer) == {"answer", "refused", "short", "citations", "passages", "timings_ms", "stats"}
    assert not answer["refused"]
    assert_answer_contract(answer, fake_assistant.document_text)


def test_streamed_deltas_add_up_to_the_final_answer(client: TestClient) -> None:
    response = client.post("/v1/ask", json={"question": QUESTION, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"}
    final = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == final["answer"]
    assert_answer_contract(final)


def test_retrieve_returns_exact_passages(client: TestClient, fake_assistant) -> None:
    passages = client.post("/v1/retrieve", json={"query": QUESTION, "k": 2}).json()["passages"]
    assert passages
    for p in passages:
        assert fake_assistant.document_text(p["doc_id"])[p["start"]:p["end"]] == p["text"]


@pytest.mark.parametrize("path, body, field", [
    ("/v1/ask", {"question": ""}, "question"),
    ("/v1/ask", {"question": QUESTION, "stream": "yes"}, "stream"),
    ("/v1/ask", {"question": QUESTION, "stream": True, "as_of": "someday"}, "as_of"),
    ("/v1/retrieve", {"query": QUESTION, "k": 500}, "k"),
])
def test_bad_input_is_a_400_naming_the_field(client: TestClient, path: str, body: dict, field: str) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert set(response.json()) == {"error"} and field in response.json()["error"]


def test_unknown_document_is_a_404(client: TestClient) -> None:
    response = client.delete("/v1/documents/nope")
    assert response.status_code == 404 and "nope" in response.json()["error"]


def test_every_route_and_setting_is_in_the_interface_doc(client: TestClient) -> None:
    """docs/interface.md documents every route the API serves and every setting it reads."""
    import re

    from assistant.config import ENV_NAMES
    from tests.conftest import ROOT

    doc = (ROOT / "docs" / "interface.md").read_text(encoding="utf-8")
    documented = re.sub(r"\{[a-z_]+\}", "{}", doc)
    served = {re.sub(r"\{[a-z_]+\}", "{}", path) for path in client.app.openapi()["paths"]}
    assert served and [path for path in sorted(served) if f" {path}" not in documented] == []
    assert [name for name in ENV_NAMES.values() if f"`{name}`" not in doc] == []
