"""A Markdown report's YAML front matter, read with limits: it comes from files we did not write."""

from __future__ import annotations

import datetime
import re
from typing import Any

import yaml

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
# Front matter is a few lines of metadata. Both limits stop "billion laughs" files: a few hundred
# bytes of nested aliases expand to hundreds of megabytes when the title is turned into text.
FRONT_MATTER_MAX_CHARS = 16_384
FRONT_MATTER_MAX_ALIASES = 16


class _FrontMatterLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses more than `FRONT_MATTER_MAX_ALIASES` aliases."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > FRONT_MATTER_MAX_ALIASES:
                raise ValueError(f"front matter uses more than {FRONT_MATTER_MAX_ALIASES} "
                                 "YAML aliases (*name); write the values out")
        return super().compose_node(parent, index)


def _front_matter(block: str) -> dict[Any, Any] | None:
    """The YAML front matter as a mapping; None when it is not valid YAML or not a mapping.

    Raises ValueError when it is too large or uses too many aliases.
    """
    if len(block) > FRONT_MATTER_MAX_CHARS:
        raise ValueError(f"front matter over {FRONT_MATTER_MAX_CHARS:,} characters")
    loader = _FrontMatterLoader(block)
    try:
        meta = loader.get_single_data()
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return meta if isinstance(meta, dict) else None


def _scalar(value: Any) -> str | None:
    """A front matter value as text: only a plain value (a list or mapping is no title)."""
    if isinstance(value, (str, int, float, datetime.date)) and not isinstance(value, bool):
        return str(value) if str(value).strip() else None
    return None
