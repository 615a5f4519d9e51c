"""Report Assistant: ask questions of your reports, get answers that cite the exact passage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assistant.config import Settings
from assistant.models import Answer, Citation, Short
from index.common.types import DocumentInfo, IngestReport, Passage

if TYPE_CHECKING:
    from assistant.core import Assistant

__all__ = ["Answer", "Assistant", "Citation", "DocumentInfo", "IngestReport", "Passage", "Settings", "Short"]


def __getattr__(name: str) -> Any:
    # Importing the engine loads torch and Chroma; keep `import assistant` light for the CLI's --help.
    if name == "Assistant":
        from assistant.core import Assistant

        return Assistant
    raise AttributeError(name)
