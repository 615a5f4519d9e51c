"""Sidecars: a JSON file beside a report with facts about it that the report does not hold."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from index.common.errors import DocumentError
from index.publication import iso_date
from index.loaders.files import read_bytes

# `story.txt.meta.json` beside `story.txt`: facts about the report that the file does not hold.
SIDECAR_SUFFIX = ".meta.json"
SIDECAR_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class Sidecar:
    """What a report's sidecar file says about it; every field is optional."""

    date: str | None = None  # YYYY-MM-DD
    title: str | None = None
    url: str | None = None


def is_sidecar(path: Path) -> bool:
    """True for a report's sidecar file (`story.txt.meta.json`)."""
    return path.name.lower().endswith(SIDECAR_SUFFIX)


def read_sidecar(path: Path, source: str) -> Sidecar:
    """The sidecar beside the report at `path` (an empty Sidecar when there is none).

    `{"date": "YYYY-MM-DD", "title": "...", "url": "..."}`; other fields are ignored. Raises
    DocumentError for the report `source`, naming the sidecar and what is wrong with it.
    """
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not (sidecar.exists() or sidecar.is_symlink()):
        return Sidecar()

    def bad(reason: str) -> DocumentError:
        return DocumentError(source, f"sidecar {sidecar.name}: {reason}")

    try:
        meta = json.loads(read_bytes(sidecar, SIDECAR_MAX_BYTES).decode("utf-8"))
    except (OSError, ValueError) as exc:  # unreadable, too big, not UTF-8, not JSON
        raise bad(f"not a readable JSON file: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(meta, dict):
        raise bad('must be a JSON object like {"date": "YYYY-MM-DD", "title": "...", "url": "..."}')
    fields: dict[str, str | None] = {}
    for name in ("date", "title", "url"):
        value = meta.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise bad(f"field {name!r} must be a non-empty string, got {value!r}")
        fields[name] = value.strip() if value else None
    if fields["date"] and not iso_date(fields["date"]):
        raise bad(f"field 'date' must be a date YYYY-MM-DD, got {fields['date']!r}")
    return Sidecar(**fields)
