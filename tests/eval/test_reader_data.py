"""`eval.reader_data`: the refusal groups of an `--absent` build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.reader_data import absent_examples, build_examples

pytestmark = pytest.mark.fast


def absent_build(root: Path) -> Path:
    """Two weeks of a `realtimeqa.py --absent` build: an answerable question with its evidence,
    an unanswerable one (its answer's reports removed) whose story's other reports stay."""
    docs = root / "docs"
    docs.mkdir(parents=True)
    texts = {
        "rtqa_a.txt": "Harbor prize\n\nThe harbor prize went to Alma Ruiz on Tuesday.",
        "rtqa_b.txt": "Harbor prize crowds\n\nCrowds gathered at the harbor for the prize. The harbor prize is old.",
        "rtqa_c.txt": "Bridge vote\n\nThe city council debated the bridge vote for hours. A bridge vote is due.",
        "rtqa_d.txt": "Weather\n\nRain fell across the valley.",
    }
    for name, text in texts.items():
        (docs / name).write_text(text, encoding="utf-8")
    rows = [
        {"id": "20230105_1", "question": "Who won the harbor prize?", "answers": ["Alma Ruiz"],
         "answerable": True, "evidence": [{"doc": "rtqa_a.txt"}]},
        {"id": "20230112_1", "question": "Which way did the bridge vote go?", "answers": [],
         "answerable": False, "evidence": []},
    ]
    (root / "testset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return root


def test_every_question_gets_a_group_of_retrieved_sentences_that_hold_no_answer(tmp_path: Path) -> None:
    examples = absent_examples(absent_build(tmp_path), reports=2, per_report=1)
    groups = {e.group for e in examples}
    assert groups == {"20230105_1/absent", "20230112_1/absent"}
    assert all(e.label == 0.0 and e.span is None for e in examples)
    harbor = [e for e in examples if e.group == "20230105_1/absent"]
    # The evidence report is never read as absent; the story's other report, ranked first, is.
    assert not any("Alma Ruiz" in e.sentence for e in harbor)
    assert harbor[0].title == "Harbor prize crowds" and "harbor" in harbor[0].sentence.lower()
    bridge = [e.sentence for e in examples if e.group == "20230112_1/absent"]
    assert any("bridge vote" in s.lower() for s in bridge)


def test_held_out_weeks_give_no_refusal_pairs(tmp_path: Path) -> None:
    build = absent_build(tmp_path)
    # Every 2nd week from the first: the week of 2023-01-05 is held out, that of 01-12 is not.
    assert {e.group for e in absent_examples(build, hold_out_every=2)} == {"20230112_1/absent"}
    # The answerable pairs count weeks the same way, unanswerable questions included.
    assert build_examples(build, hold_out_every=2) == []
