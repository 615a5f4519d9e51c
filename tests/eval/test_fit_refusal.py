"""`eval.fit_refusal`: the weak-answer refusal judged from a run's rows is what the answerer does."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from eval import fit_refusal
from eval.command import run_from_cli
from index.reader import READER_DIR
from tests.eval.test_eval import eval_args, settings_for

LATENCY = {"latency_p50_ms", "latency_p95_ms"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, float]]:
    """The sample set answered by the shipped reader with the rule off (the default run) and on
    (the comparison `shipped`); and the shipped rule's settings."""
    tmp = tmp_path_factory.mktemp("fit-refusal")
    shipped = json.loads((READER_DIR / "reader.json").read_text(encoding="utf-8"))
    rule = {k: shipped["answerer"][k] for k in ("weak_score", "weak_reader")}
    off = tmp / "reader-off-rule"
    shutil.copytree(READER_DIR, off)
    meta = dict(shipped, answerer={k: v for k, v in shipped["answerer"].items() if k not in rule})
    (off / "reader.json").write_text(json.dumps(meta), encoding="utf-8")
    out = tmp / "out"
    settings = replace(settings_for(tmp), reader=str(off))
    assert run_from_cli(settings, eval_args(out, compare=["shipped=reader:on"])) == 0
    return out, out / "shipped", rule


def test_the_rule_replayed_on_rows_gives_the_answerers_metrics(runs: tuple[Path, Path, dict[str, float]]) -> None:
    without, shipped, rule = runs
    assert rule["weak_score"] > 0 and rule["weak_reader"] > 0
    run = fit_refusal.load(without)
    replayed = fit_refusal.metrics(run, list(run.questions), rule["weak_score"], rule["weak_reader"])
    answered = json.loads((shipped / "results.json").read_text())["metrics"]
    assert {k: v for k, v in replayed.items() if k not in LATENCY} == \
        {k: v for k, v in answered.items() if k not in LATENCY}
    # The rule does something on the sample set: more of its unanswerable questions are refused.
    before = json.loads((without / "results.json").read_text())["metrics"]
    assert answered["refusal_accuracy"] > before["refusal_accuracy"]
    assert answered["false_refusal_rate"] <= before["false_refusal_rate"] + 0.05


def test_fitting_prints_every_setting_and_writes_the_choice(
    runs: tuple[Path, Path, dict[str, float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    without, _, _ = runs
    target = tmp_path / "reader.json"
    target.write_text(json.dumps({"answerer": {"reader_weight": 0.1}}), encoding="utf-8")
    assert fit_refusal.main([str(without), "--write", str(target)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len([line for line in lines if line.startswith("out weak_score=")]) == \
        len(fit_refusal.SCORES) * len(fit_refusal.READER)
    chosen = json.loads(target.read_text())["answerer"]
    assert chosen["reader_weight"] == 0.1
    assert lines[-1].startswith(f"chosen: weak_score={chosen['weak_score']} weak_reader={chosen['weak_reader']} ")
    assert chosen["weak_score"] in (0.0, *fit_refusal.SCORES)


def test_rows_without_stats_are_named(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"testset": "t.jsonl", "docs": "d"}), encoding="utf-8")
    (tmp_path / "questions.jsonl").write_text(json.dumps({"id": "q1", "refused": False}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="rows without `stats`"):
        fit_refusal.load(tmp_path)
