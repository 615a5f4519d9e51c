"""Answerers, chosen by name from configuration (`ASSISTANT_LLM`).

A name is `KIND` or `KIND:TARGET` (a model name or a model file). Each kind, the built-in ones
included, is an `AnswererKind` registered under the entry-point group
`report_assistant.answerers` in pyproject.toml, as subcommands and front ends are
(assistant/plugins.py, which sits above the chain and so does not hold this registry): to add an answerer, write its factory and its `AnswererKind`, and add
one line there. Factories import their LLM libraries only when called: the extractive default
never pays for loading llama-index's LLMs.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from assistant.answerers.base import Answerer, AnswererKind, Reply
from assistant.config import Settings
from index import Embedder
from index.common.errors import ConfigError

__all__ = ["Answerer", "AnswererKind", "Reply", "kinds", "make_answerer"]

GROUP = "report_assistant.answerers"


def kinds() -> dict[str, AnswererKind]:
    """The registered kinds of answerer by name, in name order (importing each module that
    defines one; their LLM libraries load only when one is made)."""
    return {ep.name: ep.load() for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name)}


def make_answerer(settings: Settings, embedder: Embedder) -> Answerer:
    """The answerer that `settings.llm` names; an unknown name lists the known ones.

    LLM backends are checked by their factories (server reachable, model file present), so a
    wrong setting is a ConfigError or LLMError at start-up, not in the middle of an answer.
    """
    spec = settings.llm.strip()
    kind, colon, target = spec.partition(":")
    registered = kinds()
    entry = registered.get(kind)
    if entry is None or entry.needs_target != bool(colon):
        known = ", ".join(k.usage for k in registered.values())
        raise ConfigError(f"unknown answerer {spec!r} (ASSISTANT_LLM); known: {known}")
    if entry.needs_target and not target.strip():
        raise ConfigError(f"ASSISTANT_LLM={spec!r} names no model; e.g. {entry.usage}")
    return entry.make(target.strip(), settings, embedder)
