"""The development split of a RealTimeQA build: the quiz weeks the reader is not trained on.

    python -m eval.dev_split BUILD OUT [--hold-out-every 4] [--reports 3000] [--absent 0.15] [--seed 0]

BUILD is a folder of `../shared/devsets/realtimeqa.py` (`testset.jsonl`, `docs/`). OUT gets the
questions of every `--hold-out-every`-th quiz week of each year (`eval.reader_data.held_out_weeks`,
the weeks `python -m eval.train_reader --hold-out-every N` leaves out) and, in `OUT/docs/`, their
evidence reports plus reports drawn at random from the rest of the build up to `--reports`: an
index of a few thousand real articles, where the answerer's settings are fitted
(`eval.fit_sentences`) on passages retrieved as they would be. `--absent F` makes a share F of the
questions unanswerable by leaving out every report of OUT that holds their answer (only answers
held by at most 12 reports of the build), as the recipe's own `--absent` does. Nothing built here
is committed: the articles are other people's text.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path
from typing import Any, Sequence

from eval.metrics import normalize_text
from eval.reader_data import held_out_weeks

MOST_HOLDERS = 12  # an answer held by more reports is too common to take away


def _questions(build: Path, every: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (build / "testset.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    held = held_out_weeks([r["id"] for r in rows], every)
    return [r for r in rows if r["id"][:8] in held and not r.get("history")]


def _holders(answers: Sequence[str], texts: dict[str, str]) -> set[str]:
    """The reports whose normalized text holds a normalized answer on word boundaries."""
    wanted = [f" {normalize_text(a)} " for a in answers if normalize_text(a)]
    return {name for name, text in texts.items() if any(a in text for a in wanted)}


def main(argv: Sequence[str] | None = None) -> int:
    """Write the split; print its counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("build", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--hold-out-every", type=int, default=4)
    parser.add_argument("--reports", type=int, default=3000,
                        help="reports in OUT/docs at most (more than the build has: all of them)")
    parser.add_argument("--absent", type=float, default=0.0, help="share of questions made unanswerable")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    rows = _questions(args.build, args.hold_out_every)
    docs = args.build / "docs"
    names = sorted(p.name for p in docs.iterdir() if p.is_file())
    needed = {e["doc"] for r in rows for e in r.get("evidence", [])}
    others = sorted(set(names) - needed)
    chosen = needed | set(rng.sample(others, min(len(others), max(0, args.reports - len(needed)))))
    left_out: set[str] = set()
    if args.absent:
        texts = {n: f" {normalize_text((docs / n).read_text(encoding='utf-8', errors='replace'))} " for n in names}
        candidates = [r for r in rows if r.get("answerable", True) and r.get("answers")]
        rng.shuffle(candidates)
        made = 0
        for row in candidates:
            if made >= round(args.absent * len(rows)):
                break
            holders = _holders(row["answers"], texts)
            if len(holders) > MOST_HOLDERS:
                continue
            left_out |= holders
            row.update(answers=[], answerable=False, evidence=[])
            made += 1
        # An answerable question keeps only evidence still there; none left: it goes too.
        for row in rows:
            row["evidence"] = [e for e in row.get("evidence", []) if e["doc"] not in left_out]
        rows = [r for r in rows if not r.get("answerable", True) or r["evidence"]]
    kept = sorted(chosen - left_out)
    (args.out / "docs").mkdir(parents=True, exist_ok=True)
    for name in kept:
        shutil.copyfile(docs / name, args.out / "docs" / name)
    (args.out / "testset.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    unanswerable = sum(not r.get("answerable", True) for r in rows)
    print(f"{len(rows)} questions ({unanswerable} unanswerable), {len(kept)} reports -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
