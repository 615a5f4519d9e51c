"""`eval.train_reader.stages`: how many pairs a news build's question gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.reader_data import Sampling
from eval.train_reader import stages

pytestmark = pytest.mark.fast


def long_report_build(root: Path, sentences: int = 30) -> Path:
    """One answerable question whose evidence report has many sentences, one of them the answer."""
    docs = root / "docs"
    docs.mkdir(parents=True)
    body = " ".join(f"Item {i} of the harbor list was read aloud." for i in range(sentences))
    (docs / "rtqa_a.txt").write_text(f"Harbor prize\n\nThe harbor prize went to Alma Ruiz. {body}",
                                     encoding="utf-8")
    (docs / "rtqa_b.txt").write_text("Weather\n\nRain fell across the valley.", encoding="utf-8")
    row = {"id": "20230105_1", "question": "Who won the harbor prize?", "answers": ["Alma Ruiz"],
           "answerable": True, "evidence": [{"doc": "rtqa_a.txt"}]}
    (root / "testset.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return root


def news_negatives(build: Path, sampling: Sampling) -> list[str]:
    (news,) = stages(None, [build], 0, 0, 0, sampling=sampling)
    assert news.name == "news"
    return [e.sentence for e in news.examples if e.label == 0.0]


def of_the_evidence_report(sentences: list[str]) -> list[str]:
    """The sentences drawn from `long_report_build`'s evidence report (its headline included)."""
    return [s for s in sentences if s.startswith(("Item ", "Harbor prize"))]


def test_more_random_negatives_draw_more_of_the_evidence_reports_sentences(tmp_path: Path) -> None:
    build = long_report_build(tmp_path)
    few = news_negatives(build, Sampling(random_negatives=4))
    many = news_negatives(build, Sampling(random_negatives=20))
    evidence = of_the_evidence_report(many)
    # 2 chosen by the question's words, then the random ones, all of the evidence report's sentences.
    assert len(evidence) == 2 + 20 and len(set(evidence)) == len(evidence)
    assert len(of_the_evidence_report(few)) == 2 + 4
    assert len(many) - len(few) == 16
    # The answer's sentence is never a negative.
    assert not any("Alma Ruiz" in s for s in many)


def test_random_negatives_stop_at_the_evidence_reports_sentences(tmp_path: Path) -> None:
    build = long_report_build(tmp_path, sentences=10)
    items = [s for s in news_negatives(build, Sampling(random_negatives=40)) if s.startswith("Item ")]
    assert sorted(items) == sorted(f"Item {i} of the harbor list was read aloud." for i in range(10))
