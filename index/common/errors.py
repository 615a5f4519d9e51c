"""The error hierarchy. Raised early with a fix-it message, converted only at the edges
(CLI exit code, HTTP 4xx JSON, a chat message)."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is wrong: an unknown answerer name, a malformed URL, a bad number."""


class InputError(AssistantError):
    """A caller's input is wrong: an empty question, k out of range, a bad date."""


class UnsupportedFileError(InputError):
    """A file whose type the loaders do not read."""


class DocumentError(AssistantError):
    """One document could not be loaded or indexed; the others are unaffected."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class NotFoundError(AssistantError):
    """A document id that is not in the index."""


class BusyError(AssistantError):
    """A request that would start work while the same kind is running: one evaluation at a time."""


class StoreError(AssistantError):
    """The vector store cannot be reached or refused a request."""


class LLMError(AssistantError):
    """The configured language model cannot be reached or failed."""
