"""Prompt templates as files, rendered strictly: a missing variable is an error, not a blank."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False
)


def names() -> list[str]:
    """Names of every prompt template shipped."""
    return sorted(
        p.name.removesuffix(".txt") for p in resources.files(__package__).iterdir()
        if p.name.endswith(".txt")
    )


@lru_cache(maxsize=None)
def _template(name: str) -> jinja2.Template:
    path = resources.files(__package__) / f"{name}.txt"
    if not path.is_file():
        raise KeyError(f"no prompt named {name!r}; known: {', '.join(names())}")
    return _ENV.from_string(path.read_text(encoding="utf-8"))


def render(name: str, **variables: Any) -> str:
    """Render `prompts/<name>.txt` with `variables`; raises on a missing variable."""
    return _template(name).render(**variables).strip()
