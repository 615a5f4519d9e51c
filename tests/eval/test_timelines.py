"""`python -m eval.timelines`: the timeline measurement of docs/evaluation.md (Timelines) run end
to end on a small dated index (tests/data/timeline, ingested as `assistant eval --docs` does:
sources relative to the folder) and a test set written here."""

from __future__ import annotations

import json
from pathlib import Path

from assistant.config import Settings
from tests.conftest import ROOT

STORY = ROOT / "tests" / "data" / "timeline"
QUESTIONS = [
    # The evidence is published in the week before: the timeline holds it.
    {"id": "talks", "question": "What happened at the talks to end the Port Vale ferry strike?", "answers": ["collapse"],
     "answerable": True, "evidence": [{"doc": "ferry-strike-talks.txt"}], "as_of": "2024-03-07"},
    # The evidence is a month older than the week: no timeline of that week can hold it.
    {"id": "old", "question": "How did the Port Vale ferry strike end?", "answers": ["6 percent"],
     "answerable": True, "evidence": [{"doc": "ferry-strike-ends.txt"}], "as_of": "2024-04-20"},
    {"id": "none", "question": "Who won the chess final?", "answers": [], "answerable": False, "evidence": [],
     "as_of": "2024-03-07"},
]


def test_the_measurement_writes_rates_events_and_a_sample(tmp_path: Path) -> None:
    from assistant.core import Assistant
    from eval.timelines import main

    home = tmp_path / "index"
    assistant = Assistant.open(Settings.load({"home": home, "collection": "eval"}, environ={}))
    assistant.ingest([STORY], progress=False, source_of=lambda p: p.resolve().relative_to(STORY).as_posix())
    del assistant
    testset = tmp_path / "testset.jsonl"
    testset.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    out = tmp_path / "out"
    assert main([str(testset), "--home", str(home), "--out", str(out), "--sample", "2"]) == 0

    results = json.loads((out / "timelines.json").read_text())
    assert results["questions"] == 2 and results["days"] == 7  # the unanswerable one is not asked
    assert results["evidence_in_window"] == 0.5 and results["timeline_holds_evidence"] == 0.5
    assert results["timeline_holds_evidence_when_in_window"] == 1.0
    assert results["retrieval_hit@5"] == 1.0 and results["retrieval_hit@5_in_window"] == 0.5
    assert results["timeline_p95_ms"] >= results["timeline_p50_ms"] > 0
    events = [json.loads(line) for line in (out / "timeline-events.jsonl").read_text().splitlines()]
    talks = [e for e in events if e["question_id"] == "talks"]
    assert any(e["evidence"] and e["source"] == "ferry-strike-talks.txt" for e in talks)
    assert all("2024-02-29" <= e["date"] <= "2024-03-07" for e in talks)
    assert all(e["question_id"] == "talks" for e in events)  # nothing of April's week is about it
    sample = [json.loads(line) for line in (out / "timeline-sample.jsonl").read_text().splitlines()]
    assert len(sample) == min(2, len(events)) and all(s in events for s in sample)
