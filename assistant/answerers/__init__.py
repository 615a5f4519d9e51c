"""Answerers, chosen by name from configuration (`ASSISTANT_LLM`)."""

from __future__ import annotations

from assistant.answerers.base import Answerer, Reply
from assistant.config import Settings
from assistant.errors import ConfigError
from index.embedding import Embedder

KNOWN = ("extractive", "ollama:MODEL", "openai:MODEL", "llamacpp:/path/to/model.gguf")

__all__ = ["Answerer", "Reply", "make_answerer", "KNOWN"]


def make_answerer(settings: Settings, embedder: Embedder) -> Answerer:
    """The answerer that `settings.llm` names; an unknown name lists the known ones."""
    spec = settings.llm.strip()
    if spec == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(embedder)
    raise ConfigError(f"unknown answerer {spec!r} (ASSISTANT_LLM); known: {', '.join(KNOWN)}")
