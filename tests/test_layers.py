"""The direction of dependencies (README: Architecture), checked on every import statement,
including the ones inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.fast

EDGES = {
    "cli": ("assistant.cli",),
    "http": ("assistant.api", "assistant.server"),
    "ui": ("ui",),
}
OUTSIDE_THE_CHAIN = ("eval", "bench")


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(*folders: str) -> dict[str, set[str]]:
    files = [p for folder in folders for p in (ROOT / folder).rglob("*.py")]
    return {_module(p): _imports(p) for p in files}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_index_never_imports_the_layers_above() -> None:
    wrong = {(m, i) for m, imports in _modules("index").items() for i in imports
             if _within(i, ("assistant", "ui", "eval", "bench"))}
    assert not wrong, f"index/ must not import these: {sorted(wrong)}"


def test_the_bottom_layer_imports_nothing_else_of_the_project() -> None:
    project = ("assistant", "index", "ui", "eval", "bench", "prompts")
    wrong = {(m, i) for m, imports in _modules("index/common").items() for i in imports
             if _within(i, project) and not _within(i, ("index.common",))}
    assert not wrong, f"index/common must stand alone: {sorted(wrong)}"


def test_the_edges_do_not_import_each_other_or_the_tools() -> None:
    modules = {**_modules("assistant"), "ui": _imports(ROOT / "ui.py")}
    wrong = set()
    for edge, prefixes in EDGES.items():
        others = tuple(p for e, ps in EDGES.items() if e != edge for p in ps) + OUTSIDE_THE_CHAIN
        for module, imports in modules.items():
            if _within(module, prefixes):
                wrong |= {(module, i) for i in imports if _within(i, others)}
    assert not wrong, f"edges reach each other through entry points instead: {sorted(wrong)}"


def test_the_chain_does_not_import_its_edges() -> None:
    edges = tuple(p for ps in EDGES.values() for p in ps) + OUTSIDE_THE_CHAIN
    wrong = {(m, i) for m, imports in _modules("assistant").items() if not _within(m, edges)
             for i in imports if _within(i, edges)}
    assert not wrong, f"the chain must not know its edges: {sorted(wrong)}"


def test_above_the_index_only_its_face_is_used() -> None:
    """The store and the keyword indexes belong to `index.report_index.ReportIndex`: the chain,
    the eval, the bench and the UI reach them only through it."""
    owned = ("index.store", "index.keyword")
    modules = {**_modules("assistant", "eval", "bench"), "ui": _imports(ROOT / "ui.py")}
    wrong = {(m, i) for m, imports in modules.items() for i in imports if _within(i, owned)}
    assert not wrong, f"use ReportIndex instead: {sorted(wrong)}"


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The checks read lazy imports too (a function-level import is still a dependency)."""
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from assistant.config import Settings\n    return Settings\n")
    assert "assistant.config" in _imports(module)
