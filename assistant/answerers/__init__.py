"""Answerers, chosen by name from configuration (`ASSISTANT_LLM`) through one registry.

A name is `KIND` or `KIND:TARGET` (a model name or a model file). Each kind maps to a factory
given as `module:function`, imported only when chosen: the extractive default never pays for
loading llama-index's LLMs. To add an answerer, write its factory and add a line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from assistant.answerers.base import Answerer, Reply
from assistant.config import Settings
from index.common.errors import ConfigError
from index.embedding import Embedder

if TYPE_CHECKING:
    from index.store import Store

# factory(target, settings, embedder, store) -> Answerer
AnswererFactory = Callable[[str, Settings, Embedder, Optional["Store"]], Answerer]


@dataclass(frozen=True)
class Registration:
    """How to name an answerer and where its factory is."""

    usage: str  # e.g. "ollama:MODEL"
    factory: str  # "module:function"
    needs_target: bool


REGISTRY: dict[str, Registration] = {
    "extractive": Registration("extractive", "assistant.answerers.extractive:make", False),
    "ollama": Registration("ollama:MODEL", "assistant.answerers.llm:ollama_answerer", True),
    "openai": Registration("openai:MODEL", "assistant.answerers.llm:openai_answerer", True),
    "llamacpp": Registration(
        "llamacpp:/path/to/model.gguf", "assistant.answerers.llm:llamacpp_answerer", True
    ),
}

__all__ = ["Answerer", "Reply", "REGISTRY", "make_answerer"]


def make_answerer(
    settings: Settings, embedder: Embedder, store: Store | None = None
) -> Answerer:
    """The answerer that `settings.llm` names; an unknown name lists the known ones.

    The `store` spares the extractive answerer embedding the retrieved passages again (their
    stored vectors) and gives it the reports' headlines. LLM backends are checked by their factories (server
    reachable, model file present), so a wrong setting is a ConfigError or LLMError at
    start-up, not in the middle of an answer.
    """
    spec = settings.llm.strip()
    kind, colon, target = spec.partition(":")
    entry = REGISTRY.get(kind)
    if entry is None or entry.needs_target != bool(colon):
        known = ", ".join(r.usage for r in REGISTRY.values())
        raise ConfigError(f"unknown answerer {spec!r} (ASSISTANT_LLM); known: {known}")
    if entry.needs_target and not target.strip():
        raise ConfigError(f"ASSISTANT_LLM={spec!r} names no model; e.g. {entry.usage}")
    module, _, function = entry.factory.partition(":")
    factory: AnswererFactory = getattr(importlib.import_module(module), function)
    return factory(target.strip(), settings, embedder, store)
