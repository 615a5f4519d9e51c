"""What the edges find without importing each other: the `assistant` subcommands that live in
other parts (`serve`, `eval`, `bench`) and the front ends `serve` mounts (the chat UI), each
registered as an entry point in pyproject.toml.

A newcomer adds a subcommand by writing a `Command` and one line under
`[project.entry-points."report_assistant.commands"]`; the CLI itself does not change.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Callable

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.core import Assistant

COMMANDS = "report_assistant.commands"
FRONTENDS = "report_assistant.frontends"

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
