"""Answerers, chosen by name from configuration (`ASSISTANT_LLM`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.answerers.base import Answerer, Reply
from assistant.config import Settings
from assistant.errors import ConfigError
from index.embedding import Embedder

if TYPE_CHECKING:
    from assistant.answerers.extractive import PassageVectors

LLM_BACKENDS = ("ollama", "openai", "llamacpp")
KNOWN = ("extractive", "ollama:MODEL", "openai:MODEL", "llamacpp:/path/to/model.gguf")

__all__ = ["Answerer", "Reply", "make_answerer", "KNOWN"]


def make_answerer(
    settings: Settings, embedder: Embedder, passage_vectors: PassageVectors | None = None
) -> Answerer:
    """The answerer that `settings.llm` names; an unknown name lists the known ones.

    `passage_vectors` (the store's `chunk_embeddings`) spares the extractive answerer embedding
    the retrieved passages again.

    LLM backends are checked here (server reachable, model file present), so a wrong setting
    is a ConfigError or LLMError at start-up, not in the middle of an answer.
    """
    spec = settings.llm.strip()
    if spec == "extractive":
        from assistant.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(embedder, passage_vectors=passage_vectors)
    if spec.partition(":")[0] in LLM_BACKENDS and ":" in spec:
        # Imported here: the extractive default must not pay for loading llama-index LLMs.
        from assistant.answerers.llm import make_llm_answerer

        return make_llm_answerer(spec, settings, embedder)
    raise ConfigError(f"unknown answerer {spec!r} (ASSISTANT_LLM); known: {', '.join(KNOWN)}")
