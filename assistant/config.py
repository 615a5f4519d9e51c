"""All configuration in one place: flags beat environment variables, which beat defaults.

Built once at an edge (CLI, HTTP server, UI, eval) and passed down; nothing reads the
environment anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse

from index.common.errors import ConfigError

# Environment variable for each setting (docs/interface.md lists the first seven; the OpenAI and Ollama
# ones keep the names those tools use).
ENV_NAMES: dict[str, str] = {
    "home": "ASSISTANT_HOME",
    "chroma_url": "ASSISTANT_CHROMA_URL",
    "collection": "ASSISTANT_COLLECTION",
    "llm": "ASSISTANT_LLM",
    "host": "ASSISTANT_HOST",
    "port": "ASSISTANT_PORT",
    "api_token": "ASSISTANT_API_TOKEN",
    "users": "ASSISTANT_USERS",
    "k": "ASSISTANT_K",
    "max_file_mb": "ASSISTANT_MAX_FILE_MB",
    "llm_context_tokens": "ASSISTANT_LLM_CONTEXT_TOKENS",
    "llm_max_tokens": "ASSISTANT_LLM_MAX_TOKENS",
    "openai_base_url": "OPENAI_BASE_URL",
    "openai_api_key": "OPENAI_API_KEY",
    "ollama_host": "OLLAMA_HOST",
    "embed_precision": "ASSISTANT_EMBED_PRECISION",
    "embed_threads": "ASSISTANT_EMBED_THREADS",
    "embed_backend": "ASSISTANT_EMBED_BACKEND",
    "cache_dir": "ASSISTANT_CACHE_DIR",
    "reader": "ASSISTANT_READER",
}

MAX_K = 50
TIMELINE_K = 20  # events in a timeline unless asked for another number (1 to MAX_K)


@dataclass(frozen=True)
class Settings:
    """Every setting of the assistant, with its default."""

    home: Path = Path("./.assistant")
    chroma_url: str | None = None
    collection: str = "reports"
    llm: str = "extractive"
    host: str = "127.0.0.1"
    port: int = 7860
    api_token: str | None = None
    users: Path | None = None  # the users file (assistant/users.py); None: no users, one token at most
    k: int = 5
    max_file_mb: float = 50.0
    llm_context_tokens: int = 2048
    llm_max_tokens: int = 256
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: str | None = None
    ollama_host: str = "http://127.0.0.1:11434"
    embed_precision: str = "auto"  # auto = int8 (OpenVINO, VNNI), else bf16 where native, else fp32
    embed_threads: int | None = None  # None = chosen from the core count
    embed_backend: str = "auto"  # auto = OpenVINO where installed, else PyTorch
    cache_dir: Path | None = None  # None = $XDG_CACHE_HOME (or ~/.cache)/report-assistant
    # The extractive answerer's cross-encoder (index/reader.py): on (the shipped model), off, or
    # a folder holding another reader model (e.g. an earlier version, to compare).
    reader: str = "on"

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> "Settings":
        """Defaults, then the environment, then `overrides` (flags; None means unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(ENV_NAMES[f.name])
            if raw not in (None, ""):
                values[f.name] = raw
        for name, value in (overrides or {}).items():
            if value is not None:
                if name not in ENV_NAMES:
                    raise ConfigError(f"unknown setting {name!r}")
                values[name] = value
        return cls()._with(values)

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with some settings replaced (None values are ignored)."""
        return self._with({k: v for k, v in overrides.items() if v is not None})

    def _with(self, values: Mapping[str, Any]) -> "Settings":
        converted = {name: _convert(name, value) for name, value in values.items()}
        settings = replace(self, **converted)
        settings._validate()
        return settings

    def _validate(self) -> None:
        if self.chroma_url is not None:
            parsed = urlparse(self.chroma_url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ConfigError(
                    f"ASSISTANT_CHROMA_URL must look like http://host:port, got {self.chroma_url!r}"
                )
        if not 1 <= self.k <= MAX_K:
            raise ConfigError(f"k must be between 1 and {MAX_K}, got {self.k}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"port must be between 1 and 65535, got {self.port}")
        if not self.collection or not self.collection.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(
                f"collection must be letters, digits, '-' or '_', got {self.collection!r}"
            )
        if self.llm_max_tokens < 1 or self.llm_context_tokens < 256:
            raise ConfigError(
                "ASSISTANT_LLM_MAX_TOKENS must be >= 1 and ASSISTANT_LLM_CONTEXT_TOKENS >= 256"
            )
        if self.embed_precision not in ("auto", "fp32", "bf16", "int8"):
            raise ConfigError(
                "ASSISTANT_EMBED_PRECISION must be auto, fp32, bf16 or int8, "
                f"got {self.embed_precision!r}"
            )
        if self.embed_backend not in ("auto", "openvino", "torch"):
            raise ConfigError(
                f"ASSISTANT_EMBED_BACKEND must be auto, openvino or torch, got {self.embed_backend!r}"
            )
        if self.embed_threads is not None and self.embed_threads < 1:
            raise ConfigError(f"ASSISTANT_EMBED_THREADS must be >= 1, got {self.embed_threads}")
        if self.reader not in ("on", "off") and not (Path(self.reader) / "model.xml").is_file():
            raise ConfigError(f"ASSISTANT_READER must be on, off or a folder holding a reader model "
                              f"(model.xml), got {self.reader!r}")
        if self.max_file_mb <= 0:
            raise ConfigError(f"max_file_mb must be positive, got {self.max_file_mb}")

    @property
    def max_file_bytes(self) -> int:
        """The size limit of one report file (ingest and upload), in bytes."""
        return int(self.max_file_mb * 1_000_000)

    @property
    def chroma_path(self) -> Path:
        """Where the embedded Chroma store lives."""
        return self.home / "chroma"

    @property
    def keyword_path(self) -> Path:
        """Where the BM25 keyword index of the collection lives."""
        return self.home / "keyword" / self.collection

    @property
    def document_keyword_path(self) -> Path:
        """Where the BM25 keyword index of whole reports of the collection lives."""
        return self.home / "keyword" / f"{self.collection}__documents"

    @property
    def model_cache_path(self) -> Path:
        """Where converted models are kept (shared by every home and collection)."""
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "report-assistant"

    @property
    def conversations_path(self) -> Path:
        """The SQLite database of saved conversations (assistant/conversations.py)."""
        return self.home / "conversations.sqlite3"

    @property
    def uploads_path(self) -> Path:
        """Where files uploaded through the UI or API are kept."""
        return self.home / "uploads"

    @property
    def evals_path(self) -> Path:
        """Where evaluations run from the app or `assistant eval --index` are kept, one folder each."""
        return self.home / "evals"

    @property
    def ui_upload_path(self) -> Path:
        """Where the UI's uploads land before they are indexed (removed once indexed)."""
        return self.home / "ui-uploads"


def _convert(name: str, value: Any) -> Any:
    """Turn a flag or environment string into the field's type, naming the setting on error."""
    try:
        if name in ("home", "cache_dir", "users"):
            return Path(value).expanduser()
        if name in ("port", "k", "llm_context_tokens", "llm_max_tokens", "embed_threads"):
            return int(value)
        if name == "max_file_mb":
            return float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{ENV_NAMES[name]} ({name}) must be a number, got {value!r}"
        ) from None
    return value
