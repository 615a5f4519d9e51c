"""Tuning knobs: dataclass fields that carry their own bounds and meaning, so that one field is
one name everywhere (the code, `assistant eval --compare KEY:VALUE`, results.json's `config`)."""

from __future__ import annotations

from dataclasses import Field, field, fields
from typing import Any

from index.common.errors import InputError

SWITCH_WORDS = {"on": True, "off": False, "true": True, "false": False, "yes": True, "no": False}


def knob(default: Any, help: str, low: float | None = None, high: float | None = None) -> Any:
    """A dataclass field that `--compare` may set: a number from `low` to `high`, or a switch
    (on/off) when `default` is a bool."""
    return field(default=default, metadata={"knob": (low, high), "help": help})


def knobs(cls: type) -> dict[str, Field]:
    """The knobs of dataclass `cls`, by field name, in declaration order."""
    return {f.name: f for f in fields(cls) if "knob" in f.metadata}


def describe(cls: type) -> str:
    """One line per knob of `cls`: its name, range and meaning (for --help)."""
    parts = []
    for name, f in knobs(cls).items():
        low, high = f.metadata["knob"]
        span = "on|off" if isinstance(f.default, bool) else f"{low:g}-{high:g}"
        parts.append(f"{name} ({span}, default {_shown(f.default)}: {f.metadata['help']})")
    return "; ".join(parts)


def _shown(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else f"{value:g}"


def checked(f: Field, value: Any, where: str) -> Any:
    """`value` (a string from the command line, or already typed) as the knob's type, within its
    bounds; InputError naming `where` and the knob otherwise."""
    if isinstance(f.default, bool):
        return switch(value, f.name, where)
    low, high = f.metadata["knob"]
    return number(value, type(f.default), f.name, where, low, high)


def number(value: Any, kind: type, key: str, where: str, low: float, high: float) -> Any:
    """`value` as `kind` (int or float) from `low` to `high`; InputError naming `where` and `key`."""
    try:
        result = kind(value)
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise InputError(f"{where}: {key} must be {what}, got {value!r}") from None
    if not low <= result <= high:
        raise InputError(f"{where}: {key} must be from {low:g} to {high:g}, got {value}")
    return result


def switch(value: Any, key: str, where: str) -> bool:
    """An on/off word (or a bool) as a bool; InputError naming `where` and `key` otherwise."""
    if isinstance(value, bool):
        return value
    if str(value).lower() not in SWITCH_WORDS:
        raise InputError(f"{where}: {key} must be on or off, got {value!r}")
    return SWITCH_WORDS[str(value).lower()]
