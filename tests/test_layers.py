"""The direction of dependencies (README: Architecture): import-linter's contracts in
pyproject.toml, checked on every import statement, the ones inside functions included."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.fast

PACKAGES = ("index", "assistant", "eval", "bench", "ui", "prompts")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the copy's packages, not the editable install's, are the ones analysed.
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120)


def _copy(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc", "reader_model"))
    return tmp_path


def test_the_project_keeps_its_import_contracts() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, broken", [
    # Past the index's face, in a function (a lazy import is still a dependency).
    ("assistant/citations.py", "def _f():\n    from index.store import ChromaStore\n",
     "above index/, only its face"),
    ("index/chunking.py", "from assistant.config import Settings\n", "index/ never imports the layers above"),
    ("index/common/text.py", "from index.dedup import shingles\n", "index.common stands alone"),
    ("assistant/core.py", "import ui\n", "the chain knows none of its edges"),
    ("ui/chat.py", "from assistant.api import app\n", "the edges do not import each other"),
    # A circle: the models would import the chain that imports them.
    ("assistant/models.py", "def _g():\n    import assistant.core\n", "no module imports itself back"),
])
def test_a_wrong_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    root = _copy(tmp_path)
    path = root / module
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line, encoding="utf-8")
    result = _lint(root)
    assert result.returncode != 0
    verdicts = [line.strip() for line in result.stdout.splitlines()]
    assert any(v.startswith(broken) and " BROKEN" in v for v in verdicts), result.stdout
