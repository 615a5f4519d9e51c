"""Thumbs up/down on answers, kept as JSON lines (`settings.feedback_path`) for later review."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_lock = threading.Lock()  # one line per write, even when two answers are rated at once


def record_feedback(path: Path, record: dict[str, Any], liked: bool) -> dict[str, Any]:
    """Append one JSON line: question, answer, citations, liked, timestamp; return it."""
    line = {
        "question": record["question"], "answer": record["answer"],
        "citations": record["citations"], "liked": liked,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock, path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return line
