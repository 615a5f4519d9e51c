"""Evaluations of the current index (eval/runs.py): evidence matched to indexed sources, a run
stopped or interrupted is marked failed, and the CLI's `--index` writes the app's kind of run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from assistant.cli import main
from eval.runs import EvalRuns
from eval.testset import IndexedSources, InvalidTestsetError, load_indexed_testset, load_testset
from index.common.errors import BusyError
from tests.conftest import ROOT

TESTSET = ROOT / "eval" / "testsets" / "sample_reports.jsonl"


@pytest.mark.fast
def test_evidence_naming_an_alias_is_scored_as_the_report_it_copies(tmp_path: Path) -> None:
    """A file indexed as another report's alias (the same text) is evidence for that report, in
    a run against the index and in one over `--docs`."""
    sources = IndexedSources(["/data/a.txt"], {"/data/copies/twin.txt": "/data/a.txt"})
    assert sources.evidence_name("copies/twin.txt") == "copies/twin.txt"
    assert sources.name_of("/data/a.txt") == "copies/twin.txt"
    assert sources.evidence_name("elsewhere/twin.txt") is None

    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"id": "1", "question": "q?", "answers": ["x"], "answerable": True,
                                "evidence": [{"doc": "twin.txt", "quote": "x"}]}))
    (tmp_path / "twin.txt").write_text("x")
    testset = load_testset(path, tmp_path)
    assert testset.aliased({}) is testset
    (question,) = testset.aliased({"twin.txt": "a.txt"}).questions
    assert question.evidence_sources == {"a.txt"} and question.evidence[0].quote == "x"


def test_evidence_names_match_sources_by_file_name_or_relative_path(tmp_path: Path) -> None:
    sources = IndexedSources(["/data/news/2024/a.txt", "/data/other/a.txt", "b.txt"])
    assert sources.evidence_name("2024/a.txt") == "2024/a.txt"
    assert sources.evidence_name("a.txt") == "a.txt"
    assert sources.evidence_name("./b.txt") == "b.txt"
    assert sources.evidence_name("news/b.txt") is None
    assert sources.name_of("/data/news/2024/a.txt") == "2024/a.txt"  # the longest name wins
    assert sources.name_of("/data/other/a.txt") == "a.txt"
    assert sources.name_of("/elsewhere/c.txt") == "/elsewhere/c.txt"
    with pytest.raises(ValueError, match="relative path"):
        sources.evidence_name("../a.txt")

    path = tmp_path / "set.jsonl"
    rows = [{"id": "1", "question": "q?", "answers": ["x"], "answerable": True,
             "evidence": [{"doc": "a.txt"}, {"doc": "gone.txt"}]},
            {"id": "2", "question": "q?", "answers": ["x"], "answerable": True,
             "evidence": [{"doc": "gone.txt"}]},
            {"id": "3", "question": "q?", "answers": [], "answerable": False, "evidence": []}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    testset, warnings = load_indexed_testset(path, sources)
    assert [q.id for q in testset.questions] == ["1", "3"]
    assert warnings == ["set.jsonl line 1: evidence file 'gone.txt' is not in the index",
                        "set.jsonl line 2: evidence file 'gone.txt' is not in the index",
                        "set.jsonl line 2: skipped: none of its evidence files is in the index"]
    path.write_text(json.dumps(rows[1]))
    with pytest.raises(InvalidTestsetError, match="no questions whose evidence is in the index"):
        load_indexed_testset(path, sources)


def test_one_run_at_a_time_and_a_stopped_run_is_failed(sample_assistant) -> None:
    runs = EvalRuns(sample_assistant)
    run = runs.start(TESTSET.read_bytes(), "sample.jsonl")
    with pytest.raises(BusyError, match=run["id"]):
        runs.start(TESTSET.read_bytes(), "sample.jsonl")
    runs.close()  # as at exit: stops after the question being answered
    status = runs.status(run["id"])
    assert status["status"] == "failed" and "stopped after" in status["error"]
    assert 0 < status["done"] < status["total"]
    assert status["done"] == len(runs.file(run["id"], "questions.jsonl").read_text().splitlines())
    finished = runs.start(TESTSET.read_bytes()[:2000].rsplit(b"\n", 1)[0], "first.jsonl", wait=True)
    assert finished["status"] == "done" and finished["results"]["counts"]["questions"] >= 1


def test_a_run_left_running_by_a_gone_process_is_marked_failed(sample_assistant) -> None:
    runs = EvalRuns(sample_assistant)
    done = runs.start(TESTSET.read_bytes()[:2000].rsplit(b"\n", 1)[0], "first.jsonl", wait=True)
    status_file = runs.file(done["id"], "results.json").parent / "run.json"
    gone = subprocess.Popen(["true"])
    gone.wait()
    status = json.loads(status_file.read_text())
    status.update(status="running", finished=None, pid=gone.pid)
    status_file.write_text(json.dumps(status))
    reopened = EvalRuns(sample_assistant).status(done["id"])
    assert reopened["status"] == "failed" and "interrupted" in reopened["error"]


def test_cli_eval_index_runs_against_the_collection(sample_assistant, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    home = sample_assistant.settings.home
    out = tmp_path / "out"
    assert main(["--home", str(home), "eval", str(TESTSET), "--index", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "answer_contains" in printed and str(out) in printed
    results = json.loads((out / "results.json").read_text())
    assert results["counts"]["questions"] == 56 and results["config"]["index"]["documents"] == 1
    (run,) = EvalRuns(sample_assistant).runs()  # kept under ASSISTANT_HOME/evals as the app's are
    assert run["status"] == "done" and run["testset"] == TESTSET.name
    assert main(["--home", str(home), "eval", str(TESTSET), "--docs", str(tmp_path)]) == 1
    assert "--out is required" in capsys.readouterr().err
