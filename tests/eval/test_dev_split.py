"""`eval.dev_split`: the held-out quiz weeks' questions over a share, or all, of a build's reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval import dev_split

pytestmark = pytest.mark.fast


def build(root: Path, weeks: int = 8, others: int = 6) -> Path:
    """A build of `realtimeqa.py`'s shape: one question a week, each with its evidence report,
    and reports no question names."""
    (root / "docs").mkdir(parents=True)
    rows = []
    for w in range(weeks):
        week = f"202301{w + 1:02d}"
        doc = f"rtqa_{week}.txt"
        (root / "docs" / doc).write_text(f"Week {w}\n\nThe winner was Alma{w} this week.", encoding="utf-8")
        rows.append({"id": f"{week}_1", "question": f"Who won in week {w}?", "answers": [f"Alma{w}"],
                     "evidence": [{"doc": doc, "quote": f"The winner was Alma{w} this week."}]})
    for n in range(others):
        (root / "docs" / f"rtqa_other{n}.txt").write_text(f"Other\n\nNothing about winners {n}.", encoding="utf-8")
    (root / "testset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def written(out: Path) -> tuple[list[dict], set[str]]:
    rows = [json.loads(line) for line in (out / "testset.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows, {p.name for p in (out / "docs").iterdir()}


def test_every_fourth_week_and_its_evidence_plus_reports_drawn_up_to_the_limit(tmp_path: Path) -> None:
    source = build(tmp_path / "build")
    assert dev_split.main([str(source), str(tmp_path / "out"), "--reports", "4"]) == 0
    rows, docs = written(tmp_path / "out")
    assert [r["id"] for r in rows] == ["20230101_1", "20230105_1"]  # weeks 1 and 5 of 8
    assert {"rtqa_20230101.txt", "rtqa_20230105.txt"} <= docs and len(docs) == 4


def test_more_reports_asked_than_the_build_has_gives_all_of_them(tmp_path: Path) -> None:
    source = build(tmp_path / "build")
    assert dev_split.main([str(source), str(tmp_path / "out"), "--reports", "100000"]) == 0
    _, docs = written(tmp_path / "out")
    assert docs == {p.name for p in (source / "docs").iterdir()}
