"""Configuration: flags beat environment variables, which beat defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from index.common.errors import ConfigError

pytestmark = pytest.mark.fast


def test_defaults() -> None:
    s = Settings.load(environ={})
    assert (s.home, s.chroma_url, s.collection, s.llm, s.host, s.port, s.api_token) == (
        Path("./.assistant"), None, "reports", "extractive", "127.0.0.1", 7860, None)


def test_environment_then_flags() -> None:
    env = {"ASSISTANT_COLLECTION": "news", "ASSISTANT_PORT": "8000", "ASSISTANT_LLM": "ollama:m"}
    s = Settings.load({"port": 9000, "collection": None}, environ=env)
    assert (s.collection, s.port, s.llm) == ("news", 9000, "ollama:m")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ASSISTANT_PORT": "eighty"}, "ASSISTANT_PORT"),
        ({"ASSISTANT_CHROMA_URL": "localhost:8000"}, "ASSISTANT_CHROMA_URL"),
        ({"ASSISTANT_COLLECTION": "no spaces"}, "collection"),
        ({"ASSISTANT_K": "0"}, "k must be"),
        ({"ASSISTANT_READER": "maybe"}, "ASSISTANT_READER must be on, off or a folder holding a reader model"),
    ],
)
def test_bad_values_name_the_setting(env, message) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ=env)
