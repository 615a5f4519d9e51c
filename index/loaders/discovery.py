"""Finding reports: the files and folders a user names, expanded into the files we can read."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from index.loaders.files import not_a_file_reason
from index.loaders.sidecars import is_sidecar

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")


def discover(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders (recursively) into supported files, sorted.

    Returns the files and `(path, reason)` for each named path that cannot be used.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if (p.suffix.lower() not in SUPPORTED_SUFFIXES
                        or any(part.startswith(".") for part in p.relative_to(path).parts)):
                    continue
                if p.is_file():
                    files.append(p)
                elif not p.is_dir():  # a folder named x.txt is just a folder, scanned above
                    problems.append((str(p), not_a_file_reason(p)))
        elif path.is_file():
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(path)
            elif not is_sidecar(path):  # a sidecar is read with its report (`ingest dir/*`)
                problems.append((str(path), unsupported_reason(path.name)))
        elif path.is_symlink() or path.exists():
            problems.append((str(path), not_a_file_reason(path)))
        else:
            problems.append((str(path), "no such file or folder"))
    unique: dict[Path, Path] = {}
    for f in files:
        unique.setdefault(f.resolve(), f)
    return list(unique.values()), problems


def unsupported_reason(name: str) -> str:
    """The message for a file type we do not read."""
    return (
        f"unsupported file type {Path(name).suffix or '(none)'!r}; "
        f"supported: {', '.join(SUPPORTED_SUFFIXES)}"
    )
