"""Shared fixtures: a real embedded Chroma in a temporary folder, the real bundled model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.config import Settings  # noqa: E402
from bench.local_servers import free_port  # noqa: E402,F401  (tests import it from here)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_REPORTS = ROOT / "data" / "reports"
SAMPLE_REPORT = SAMPLE_REPORTS / "iraq-syria-base-attacks.txt"
SHARED = ROOT.parent / "shared"
MODEL_CACHE = Settings().model_cache_path  # converted models, shared with the developer's runs


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own settings or store."""
    from assistant.config import ENV_NAMES

    for name in ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ASSISTANT_HOME", str(tmp_path / "home"))


@pytest.fixture(autouse=True)
def _fast_tier_has_no_real_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked `fast` runs on the fakes of tests/fakes.py: loading the real model or
    opening Chroma there fails loudly instead of silently making the fast tier slow."""
    if request.node.get_closest_marker("fast") is None:
        return
    import index.embedding
    import index.report_index
    import index.store

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a fast test must use tests.fakes, not the real model or Chroma")

    monkeypatch.setattr(index.embedding.Embedder, "__init__", refuse)
    for module in (index.store, index.report_index):  # where Chroma is opened
        monkeypatch.setattr(module, "make_client", refuse)


@pytest.fixture
def fake_assistant(tmp_path: Path):
    """The chain over the fakes (tests/fakes.py) and real BM25 indexes, with the sample reports."""
    from tests.fakes import fake_assistant as build

    assistant = build(Settings.load({"home": tmp_path / "home"}, environ={}))
    assistant.ingest([SAMPLE_REPORTS], progress=False)
    return assistant


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with a fresh embedded store under `tmp_path`."""
    return Settings.load({"home": tmp_path / "home"}, environ={})


@pytest.fixture
def assistant(settings: Settings):
    """An assistant over an empty embedded store."""
    from assistant.core import Assistant

    return Assistant.open(settings)


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the sample reports indexed once per session (copy it before writing)."""
    from assistant.core import Assistant

    home = tmp_path_factory.mktemp("sample") / "home"
    Assistant.open(Settings.load({"home": home}, environ={})).ingest([SAMPLE_REPORTS], progress=False)
    return home


@pytest.fixture
def sample_assistant(sample_home: Path, tmp_path: Path):
    """An assistant over its own copy of the indexed sample reports."""
    from assistant.core import Assistant

    home = tmp_path / "sample-home"
    shutil.copytree(sample_home, home)
    return Assistant.open(Settings.load({"home": home}, environ={}))


