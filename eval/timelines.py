"""`python -m eval.timelines TESTSET --home HOME --out OUT`: timelines measured on a dated test
set, over an index built before (docs/evaluation.md: Timelines).

For each answerable question with an `as_of`, the timeline of the question's topic (the
question itself) as of the quiz date, over the `--days` before it, and whether it holds an
evidence report (an event's, or one folded into an event's `also_in`); beside it, retrieval's
hit@5 for the same question as of the same day, over every earlier report and over the window.
Also: the share of questions with an evidence report published in the window (the most a
timeline bounded so can hold), events and time per timeline, and a random sample of events to
label by hand (`--sample`; `--exclude` leaves out the events of earlier samples).

Writes OUT/timelines.json (the numbers), OUT/timeline-events.jsonl (every event, with its
question) and OUT/timeline-sample.jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from assistant.config import Settings
from assistant.core import Assistant
from eval.testset import IndexedSources, load_indexed_testset


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.timelines", description=__doc__.split("\n")[0])
    p.add_argument("testset", help="a test set whose questions have as_of and evidence")
    p.add_argument("--home", required=True, help="the index's home (e.g. an eval run's OUT/.index)")
    p.add_argument("--collection", default="eval", help="its collection (an eval run's: eval)")
    p.add_argument("--out", required=True, help="folder for timelines.json and the events")
    p.add_argument("--days", type=int, default=7, help="the window: this many days before as_of")
    p.add_argument("--sample", type=int, default=50, help="events drawn at random to label by hand")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--exclude", help="a JSONL of events (an earlier sample) the sample leaves out, "
                                     "matched by question and report")
    return p


def measure(assistant: Assistant, testset_path: Path, days: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The numbers of the module docstring, and every event of every timeline."""
    documents = assistant.documents()
    sources = IndexedSources([d.source for d in documents])
    testset, _ = load_indexed_testset(testset_path, sources)
    by_name = {sources.name_of(d.source): d for d in documents}
    hits = windowed = retrieved = retrieved_in_window = asked = 0
    times: list[float] = []
    counts: list[int] = []
    events: list[dict[str, Any]] = []
    for q in testset.questions:
        if not q.answerable or q.as_of is None or not q.evidence_sources:
            continue
        asked += 1
        start = (date.fromisoformat(q.as_of) - timedelta(days=days)).isoformat()
        evidence = {by_name[s].doc_id for s in q.evidence_sources if s in by_name}
        windowed += any(start <= (by_name[s].date or "") <= q.as_of for s in q.evidence_sources if s in by_name)
        t = time.perf_counter()
        timeline = assistant.timeline(q.question, date_from=start, as_of=q.as_of)
        times.append((time.perf_counter() - t) * 1000)
        shown = {doc_id for e in timeline.events for doc_id in (e.doc_id, *e.also_in)}
        hits += bool(shown & evidence)
        retrieved += bool({p.doc_id for p in assistant.retrieve(q.question, k=5, as_of=q.as_of)} & evidence)
        retrieved_in_window += bool({p.doc_id for p in assistant.retrieve(q.question, k=5, as_of=q.as_of,
                                                                           date_from=start)} & evidence)
        counts.append(len(timeline.events))
        events += [{"question_id": q.id, "topic": q.question, "as_of": q.as_of, "date": e.date,
                    "doc_id": e.doc_id, "title": e.title, "source": e.source, "sentence": e.sentence.quote,
                    "relevance": e.relevance, "judged": e.sentence.score, "also_in": list(e.also_in),
                    "evidence": bool({e.doc_id, *e.also_in} & evidence)} for e in timeline.events]
    results = {
        "questions": asked, "days": days,
        "timeline_holds_evidence": round(hits / max(asked, 1), 4),
        "evidence_in_window": round(windowed / max(asked, 1), 4),
        "timeline_holds_evidence_when_in_window": round(hits / max(windowed, 1), 4),
        "retrieval_hit@5": round(retrieved / max(asked, 1), 4),
        "retrieval_hit@5_in_window": round(retrieved_in_window / max(asked, 1), 4),
        "events_per_timeline": round(float(np.mean(counts)) if counts else 0.0, 3),
        "empty_timelines": sum(c == 0 for c in counts),
        "timeline_p50_ms": round(float(np.percentile(times, 50)), 1) if times else 0.0,
        "timeline_p95_ms": round(float(np.percentile(times, 95)), 1) if times else 0.0,
    }
    return results, events


def main(argv: Sequence[str] | None = None) -> int:
    """Measure, write OUT/timelines.json and the events, print the numbers."""
    args = _parser().parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    assistant = Assistant.open(Settings.load({"home": args.home, "collection": args.collection}))
    results, events = measure(assistant, Path(args.testset), args.days)
    seen = set()
    if args.exclude:
        seen = {(r["question_id"], r["doc_id"]) for r in map(json.loads, Path(args.exclude).read_text().splitlines())}
    pool = [e for e in events if (e["question_id"], e["doc_id"]) not in seen]
    sample = random.Random(args.seed).sample(pool, min(args.sample, len(pool)))
    (out / "timelines.json").write_text(json.dumps(results, indent=2))
    for name, rows in (("timeline-events.jsonl", events), ("timeline-sample.jsonl", sample)):
        (out / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
