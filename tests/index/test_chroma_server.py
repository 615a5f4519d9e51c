"""Server mode: ASSISTANT_CHROMA_URL pointed at a real `chroma run` started by the test."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from assistant.config import Settings
from bench.local_servers import start_chroma, stop
from index.common.errors import StoreError
from tests.conftest import SAMPLE_REPORTS, free_port


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_chroma(tmp_path_factory.mktemp("chroma-server"), free_port())
    try:
        yield url
    finally:
        stop(process, timeout_s=30)


def test_ingest_and_ask_through_a_chroma_server(chroma_url: str, tmp_path: Path) -> None:
    from assistant.core import Assistant

    settings = Settings.load({"home": tmp_path / "home", "chroma_url": chroma_url}, environ={})
    assistant = Assistant.open(settings)
    report = assistant.ingest([SAMPLE_REPORTS], progress=False)
    assert len(report.added) == 1 and report.chunks >= 1
    assert not (tmp_path / "home" / "chroma").exists()  # nothing went into an embedded store

    answer = assistant.ask("Who did the Pentagon blame?")
    assert not answer.refused and "Iran" in answer.answer
    c = answer.citations[0]
    assert assistant.document_text(c.doc_id)[c.start:c.end] == c.quote

    # A second process (here: a second client with its own keyword cache) sees the same reports.
    other = Assistant.open(settings.with_overrides(home=tmp_path / "other-home"))
    assert other.health()["documents"] == 1
    assert other.retrieve("Katyusha rocket", k=1)[0].text == assistant.retrieve("Katyusha rocket", k=1)[0].text


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    from assistant.core import Assistant

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreError, match=url):
        Assistant.open(Settings.load({"home": tmp_path, "chroma_url": url}, environ={}))
