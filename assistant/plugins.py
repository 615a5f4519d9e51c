"""What the edges find without importing each other: the `assistant` subcommands that live in
other parts (`serve`, `eval`, `bench`), the front ends `serve` mounts (the chat UI) and the
evaluations the app runs (`/v1/evals`, the UI's Evaluate tab), each registered as an entry
point in pyproject.toml. (The answerers `ASSISTANT_LLM` names are registered the same way and
found by `assistant.answerers.kinds`, which the chain needs: this module sits above the chain.)

A newcomer adds a subcommand by writing a `Command` and one line under
`[project.entry-points."report_assistant.commands"]`; the CLI itself does not change.
"""

from __future__ import annotations

import argparse
import threading
import weakref
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.core import Assistant

COMMANDS = "report_assistant.commands"
FRONTENDS = "report_assistant.frontends"
EVALUATIONS = "report_assistant.evaluations"

# A front end takes the HTTP app and the assistant, mounts itself, and returns the app.
Frontend = Callable[[Any, "Assistant"], Any]


@dataclass(frozen=True)
class Command:
    """A subcommand of `assistant`: its help line, its arguments, and what it runs (an exit code)."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Settings, argparse.Namespace], int]


def commands() -> dict[str, Command]:
    """The registered subcommands by name (importing each module that defines one)."""
    return {ep.name: ep.load() for ep in sorted(entry_points(group=COMMANDS), key=lambda e: e.name)}


def frontends() -> list[Frontend]:
    """The registered front ends, in name order."""
    return [ep.load() for ep in sorted(entry_points(group=FRONTENDS), key=lambda e: e.name)]


class Evaluations(Protocol):
    """Evaluations of an assistant's index (`eval.runs.EvalRuns`): what the HTTP API and the UI
    call. Statuses are `{"id", "status": "running"|"done"|"failed", "done", "total", ...}`."""

    def start(self, data: bytes, filename: str | None, k: int | None = None,
              llm: str | None = None, by: str | None = None) -> dict[str, Any]:
        """Check a test set and start a run on it (`by` whom); its status."""
        ...

    def status(self, run_id: str, results: bool = True) -> dict[str, Any]:
        """A run's status, with `results` once done."""
        ...

    def runs(self) -> list[dict[str, Any]]:
        """Every run's status, newest first."""
        ...

    def file(self, run_id: str, name: str) -> Path:
        """A file the run wrote (questions.jsonl, results.json, report.md, a plot)."""
        ...

    def plots(self, run_id: str) -> list[Path]:
        """The plots of a run's report."""
        ...

    def examples(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """Answered questions by outcome, each with its row."""
        ...


_evaluations: "weakref.WeakKeyDictionary[Assistant, Evaluations]" = weakref.WeakKeyDictionary()
_evaluations_lock = threading.Lock()


def evaluations(assistant: "Assistant") -> Evaluations:
    """The one `Evaluations` of `assistant`, shared by the API and the UI (so that one run at a
    time holds across both), built by the registered factory on first use."""
    with _evaluations_lock:
        if assistant not in _evaluations:
            (factory,) = entry_points(group=EVALUATIONS)
            _evaluations[assistant] = factory.load()(assistant)
        return _evaluations[assistant]
