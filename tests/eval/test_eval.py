"""`assistant eval` end to end on the bundled sample test set: outputs, floors, resume, validation."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from assistant.config import Settings
from eval.metrics import METRIC_NAMES, OUTCOMES, compute_metrics
from eval.command import run_from_cli
from eval.runner import COMPARE_KEYS, DEFAULT, RunConfig, parse_compare, read_rows
from eval.testset import InvalidTestsetError, load_testset
from index.common.errors import InputError
from index.reader import READER_DIR
from tests.conftest import ROOT, SAMPLE_REPORTS

TESTSET = ROOT / "eval" / "testsets" / "sample_reports.jsonl"
SAMPLE_DOC = "iraq-syria-base-attacks.txt"
ROW_KEYS = {"id", "answer", "refused", "citations", "retrieved", "latency_ms"}
CITATION_KEYS = {"n", "doc_id", "title", "source", "date", "start", "end", "quote", "score"}
RETRIEVED_KEYS = {"source", "doc_id", "start", "end", "score"}

# Floors the default configuration meets with a margin (measured: 0.976, 0.976, 0.571).
FLOORS = {"answer_contains": 0.85, "citation_precision": 0.85, "refusal_accuracy": 0.45}


def eval_args(out: Path, testset: Path = TESTSET, docs: Path = SAMPLE_REPORTS,
              k: int | None = None, compare: list[str] | None = None) -> argparse.Namespace:
    """What the CLI parser hands `run_from_cli`."""
    return argparse.Namespace(testset=str(testset), docs=str(docs), out=str(out), k=k, compare=compare,
                              index=False)


def settings_for(tmp: Path) -> Settings:
    return Settings.load({"home": tmp / "unused-home"}, environ={})


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run of the sample test set, default configuration plus one comparison."""
    tmp = tmp_path_factory.mktemp("eval")
    out = tmp / "out"
    code = run_from_cli(settings_for(tmp), eval_args(out, compare=["bm25k3=retrieval:bm25,k:3"]))
    assert code == 0
    return out


def test_sample_testset_is_valid_and_large_enough() -> None:
    testset = load_testset(TESTSET, SAMPLE_REPORTS)
    text = (SAMPLE_REPORTS / SAMPLE_DOC).read_text(encoding="utf-8")
    assert testset.counts["questions"] >= 40
    assert testset.counts["unanswerable"] >= 10
    assert sum(bool(q.history) for q in testset.questions if q.answerable) >= 5
    for q in testset.questions:
        for answer in q.answers:
            assert answer in text, (q.id, answer)
        for evidence in q.evidence:
            assert evidence.source == SAMPLE_DOC and evidence.quote in text, q.id


def test_writes_results_questions_and_report(sample_run: Path) -> None:
    results = json.loads((sample_run / "results.json").read_text())
    assert set(results) == {"config", "counts", "metrics", "breakdown", "comparison", "breakdowns"}
    assert results["counts"] == {"questions": 56, "answerable": 42, "unanswerable": 14}
    assert list(results["metrics"]) == list(METRIC_NAMES)
    breakdown = results["breakdown"]
    assert list(breakdown) == list(OUTCOMES) and sum(breakdown.values()) == 56
    assert breakdown["right"] == round(results["metrics"]["answer_contains"] * 42)
    assert breakdown["refused_right"] + breakdown["answered_unanswerable"] == 14
    assert results["config"]["retrieval"] == "hybrid" and results["config"]["k"] == 5

    rows = read_jsonl(sample_run / "questions.jsonl")
    assert len(rows) == 56 and len({r["id"] for r in rows}) == 56
    for r in rows:
        assert ROW_KEYS <= set(r)
        assert isinstance(r["refused"], bool) and r["latency_ms"] > 0
        assert 1 <= len(r["retrieved"]) <= 5
        for c in r["citations"]:
            assert set(c) == CITATION_KEYS and c["source"] == SAMPLE_DOC
        for p in r["retrieved"]:
            assert RETRIEVED_KEYS <= set(p) and p["source"] == SAMPLE_DOC
        assert "best_score" in r["stats"]
    # The reader's probabilities are kept for refused questions too: a refusal rule can be
    # judged again from this file alone.
    read = [r for r in rows if "p_reader" in r["stats"]]
    assert any(r["refused"] for r in read) and any(not r["refused"] for r in read)
    for r in read:
        stats = r["stats"]
        assert {"p_reader_max", "p_short", "p_short_max"} <= set(stats)
        assert stats["p_reader_max"] >= stats["p_reader"] and stats["p_short_max"] >= stats["p_short"]

    report = (sample_run / "report.md").read_text()
    for metric in METRIC_NAMES:
        assert f"| {metric} |" in report
    other = json.loads((sample_run / "bm25k3" / "results.json").read_text())["breakdown"]
    assert "## Outcomes" in report and "| outcome | default | bm25k3 |" in report
    for name in OUTCOMES:
        assert f"| {name} | {breakdown[name]} | {other[name]} |" in report
    assert "| total | 56 | 56 |" in report
    # Examples of each configuration: the outcomes that occurred, up to three questions each.
    examples = report.split("## Examples")[1]
    default_part, bm25_part = examples.split("### default")[1].split("### bm25k3")
    for name, count in breakdown.items():
        assert (f"**{name}** ({count})" in default_part) == (count > 0)
    right = default_part.split(f"**right** ({breakdown['right']})")[1].split("**")[0]
    items = [line for line in right.splitlines() if line.startswith("- `")]
    assert len(items) == 3 and all("— gold: " in item and "gold in passages: " in item for item in items)
    assert "**right**" in bm25_part
    plots = [line.split("(")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
    assert "metrics.png" in plots and len(plots) == 1 + len(METRIC_NAMES)
    for plot in plots:
        assert (sample_run / plot).read_bytes().startswith(b"\x89PNG")


def test_meets_the_floors(sample_run: Path) -> None:
    metrics = json.loads((sample_run / "results.json").read_text())["metrics"]
    for name, floor in FLOORS.items():
        assert metrics[name] >= floor, (name, metrics[name])
    assert metrics["retrieval_hit@10"] == 1.0  # one report: it is always retrieved


def test_a_run_scored_again_from_its_questions_file_gives_every_metric(sample_run: Path) -> None:
    results = json.loads((sample_run / "results.json").read_text())
    rows = read_rows(sample_run / "questions.jsonl")
    again = compute_metrics(load_testset(TESTSET, SAMPLE_REPORTS).questions, rows)
    assert again == results["metrics"]
    # hit@k is over the passages handed to the answerer, which every row lists.
    assert all(len(row["retrieved"]) <= results["config"]["k"] for row in rows.values())


def test_compare_writes_each_configuration(sample_run: Path) -> None:
    results = json.loads((sample_run / "results.json").read_text())
    assert list(results["comparison"]) == [DEFAULT, "bm25k3"]
    other = json.loads((sample_run / "bm25k3" / "results.json").read_text())
    assert other["config"]["retrieval"] == "bm25" and other["config"]["k"] == 3
    assert results["comparison"]["bm25k3"] == other["metrics"]
    assert results["breakdowns"] == {DEFAULT: results["breakdown"], "bm25k3": other["breakdown"]}
    assert all(len(r["retrieved"]) <= 3 for r in read_jsonl(sample_run / "bm25k3" / "questions.jsonl"))
    assert "| bm25k3 | bm25 | 3 |" in (sample_run / "report.md").read_text()


def test_resume_skips_answered_questions(sample_run: Path, tmp_path: Path) -> None:
    done = (sample_run / "questions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    out = tmp_path / "out"
    out.mkdir()
    # An interrupted run: ten rows written, the eleventh cut off mid-line.
    partial = "".join(done[:10]) + done[10][:40]
    (out / "questions.jsonl").write_text(partial, encoding="utf-8")

    assert run_from_cli(settings_for(tmp_path), eval_args(out)) == 0
    lines = (out / "questions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    assert lines[:10] == done[:10]  # not asked again
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == 56 and len(set(ids)) == 56
    assert json.loads((out / "results.json").read_text())["counts"]["questions"] == 56


def test_refuses_to_resume_another_configuration(sample_run: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert run_from_cli(settings_for(tmp_path), eval_args(sample_run, k=2)) == 1
    assert "another configuration (k differ)" in capsys.readouterr().err


def test_read_rows_cuts_a_truncated_last_line(tmp_path: Path) -> None:
    path = tmp_path / "questions.jsonl"
    path.write_text('{"id": "a", "answer": "x"}\n{"id": "b", "ans', encoding="utf-8")
    assert list(read_rows(path)) == ["a"]
    assert path.read_text(encoding="utf-8") == '{"id": "a", "answer": "x"}\n'
    assert read_rows(tmp_path / "missing.jsonl") == {}


# --- validation ------------------------------------------------------------------------

GOOD = {"id": "q1", "question": "Who?", "answers": ["Kirby"], "answerable": True,
        "evidence": [{"doc": SAMPLE_DOC, "quote": "John Kirby"}]}


def write_testset(tmp_path: Path, *lines: str | dict) -> Path:
    path = tmp_path / "testset.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize(("bad", "message"), [
    ('{"id": "q2", "question": ', "testset.jsonl line 2: not valid JSON"),
    ({k: v for k, v in GOOD.items() if k != "answers"} | {"id": "q2"},
     "testset.jsonl line 2: missing required field 'answers'"),
    (GOOD | {"id": "q2", "answerable": "yes"}, "testset.jsonl line 2: 'answerable' must be true or false"),
    (GOOD | {"id": "q2", "answers": "Kirby"}, "testset.jsonl line 2: 'answers' must be a list"),
    (GOOD | {"id": "q2", "evidence": [{"doc": "nope.txt"}]},
     "testset.jsonl line 2: evidence file 'nope.txt' is not a file under"),
    (GOOD | {"id": "q2", "evidence": [{"doc": "../../pyproject.toml"}]},
     "testset.jsonl line 2: evidence file"),
    (GOOD, "testset.jsonl line 2: duplicate id 'q1' (first used on line 1)"),
    (GOOD | {"id": "q2", "answerable": False}, "testset.jsonl line 2: an unanswerable question"),
    (GOOD | {"id": "q2", "history": [{"role": "bot", "content": "hi"}]}, "testset.jsonl line 2: each 'history'"),
    (GOOD | {"id": "q2", "as_of": "yesterday"}, "testset.jsonl line 2: 'as_of' must be a date"),
])
def test_validation_names_the_line(tmp_path: Path, bad: str | dict, message: str) -> None:
    path = write_testset(tmp_path, GOOD, bad)
    with pytest.raises(InvalidTestsetError) as caught:
        load_testset(path, SAMPLE_REPORTS)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, InputError) and caught.value.line == 2


def test_cli_reports_a_bad_testset_with_exit_code_1(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write_testset(tmp_path, GOOD, "", GOOD | {"id": "q3"}, GOOD | {"id": "q3"})
    assert run_from_cli(settings_for(tmp_path), eval_args(tmp_path / "out", testset=path)) == 1
    assert "error: testset.jsonl line 4: duplicate id 'q3'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing indexed or written


def test_parse_compare() -> None:
    base = RunConfig(DEFAULT, "hybrid", 5, "extractive")
    dense, qwen = parse_compare(["dense=retrieval:dense", "qwen=llm:llamacpp:/m/q.gguf,k:3"], base)
    assert dense == RunConfig("dense", "dense", 5, "extractive")
    assert qwen == RunConfig("qwen", "hybrid", 3, "llamacpp:/m/q.gguf")
    for bad, reason in [("dense", "expected NAME=KEY:VALUE"), ("x=top:3", "KEY one of"),
                        ("x=retrieval:fuzzy", "retrieval must be one of"), ("x=k:many", "whole number"),
                        ("x=k:99", "from 1 to 50"), ("default=k:3", "already used")]:
        with pytest.raises(InputError, match=reason):
            parse_compare([bad], base)
    with pytest.raises(InputError, match="already used"):
        parse_compare(["a=k:3", "a=k:4"], base)


def test_parse_compare_tuning_keys() -> None:
    """Every knob is set by its own field name, checked against the bounds declared beside it."""
    base = RunConfig(DEFAULT, "hybrid", 5, "extractive")
    small, flat = parse_compare(["small=max_tokens:96,overlap_tokens:0,title:off",
                                 "flat=dense_weight:2,same_doc_decay:1,duplicate_threshold:2,recency_weight:0,"
                                 "window_boost:0,min_dated_share:1,passage_chunks:2"], base)
    assert (small.chunking.max_tokens, small.chunking.overlap_tokens, small.chunking.title) == (96, 0, False)
    assert small.tuning == base.tuning  # chunking alone: the same ranking settings
    tuning = flat.tuning
    assert (tuning.dense_weight, tuning.same_doc_decay, tuning.recency_weight, tuning.window_boost,
            tuning.min_dated_share, tuning.passage_chunks) == (2.0, 1.0, 0.0, 0.0, 1.0, 2)
    assert tuning.duplicate_threshold > 1.0  # near-copies no longer merged
    assert flat.chunking == base.chunking
    assert set(COMPARE_KEYS) <= set(flat.to_dict())  # results.json names each knob as --compare does
    (bf16,) = parse_compare(["bf16=precision:bf16"], base)
    assert (bf16.precision, bf16.chunking, bf16.tuning) == ("bf16", base.chunking, base.tuning)
    (plain,) = parse_compare(["noreader=reader:off"], base)
    assert (base.reader, plain.reader, plain.tuning, plain.chunking) == (
        "on", "off", base.tuning, base.chunking)
    (other,) = parse_compare([f"v5=reader:{READER_DIR}"], base)
    assert other.reader == str(READER_DIR.resolve())
    for bad, reason in [("x=max_tokens:999", "max_tokens must be from 32 to 254"),
                        ("x=max_tokens:100,overlap_tokens:100", r"overlap_tokens must be below max_tokens \(100\)"),
                        ("x=title:maybe", "title must be on or off"),
                        ("x=dense_weight:lots", "dense_weight must be a number"),
                        ("x=same_doc_decay:0", "same_doc_decay must be from 0.01 to 1"),
                        ("x=passage_chunks:1.5", "passage_chunks must be a whole number"),
                        ("x=fusion:2", "is not KEY:VALUE with KEY one of"),
                        ("x=recency_prior:1", "is not KEY:VALUE with KEY one of"),
                        ("x=precision:fp16", "precision must be one of auto, fp32, bf16, int8"),
                        ("x=reader:maybe", "reader must be on, off or a folder holding a reader model")]:
        with pytest.raises(InputError, match=reason):
            parse_compare([bad], base)


def test_compare_with_other_chunking_indexes_again(tmp_path: Path) -> None:
    """A configuration that chunks differently gets an index of its own and smaller passages."""
    out = tmp_path / "out"
    code = run_from_cli(settings_for(tmp_path), eval_args(out, compare=["small=max_tokens:48,overlap_tokens:0,title:off"]))
    assert code == 0
    assert (out / ".index").is_dir() and (out / ".index-48-0-notitle").is_dir()
    small = json.loads((out / "small" / "results.json").read_text())
    assert (small["config"]["max_tokens"], small["config"]["overlap_tokens"], small["config"]["title"]) == (48, 0, False)

    def longest_passage(folder: Path) -> int:
        return max(p["end"] - p["start"] for row in read_jsonl(folder / "questions.jsonl") for p in row["retrieved"])

    assert longest_passage(out / "small") < longest_passage(out) / 2


def test_compare_with_other_precision_indexes_again(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = run_from_cli(settings_for(tmp_path), eval_args(out, compare=["fp32=precision:fp32"]))
    assert code == 0
    assert (out / ".index").is_dir() and (out / ".index-fp32").is_dir()
    fp32 = json.loads((out / "fp32" / "results.json").read_text())
    assert fp32["config"]["precision"] == "fp32"
    assert json.loads((out / "results.json").read_text())["config"]["precision"] == "auto"
    assert fp32["metrics"]["retrieval_hit@5"] == 1.0  # the one sample report, found either way


@pytest.mark.fast
def test_every_compare_key_is_documented() -> None:
    """docs/evaluation.md's table of --compare keys lists every key, by its field name."""
    table = (Path(__file__).parents[2] / "docs" / "evaluation.md").read_text(encoding="utf-8")
    assert [key for key in COMPARE_KEYS if f"| `{key}` |" not in table] == []
