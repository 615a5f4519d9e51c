"""Fit the extractive answerer's weak-answer refusal from evaluation runs' `questions.jsonl`.

    python -m eval.fit_refusal RUN [RUN ...] [--max-false-refusals 0.10] [--loss-weight 3]
                               [--write index/reader_model/reader.json]

A RUN is an `assistant eval` output folder made with the reader on (its `config.json` names the
test set and the reports; every row keeps the answerer's `stats`). The rule refuses an answer
whose best sentence scores under `weak_score` while no sentence the reader read gets a
probability of answering of `weak_reader` or more (docs/evaluation.md: Refusing weak answers).

Refusing only ever removes answers, so each setting is judged exactly from the rows, with no
model. Settings are chosen on the questions whose crc32(id) is even (the fitting halves, as in
`eval.fit_sentences`): every fitting half keeps its false refusals at most
`--max-false-refusals`, and the winner has the largest mean gain in refusal accuracy less
`--loss-weight` times the mean loss in answer_contains. Both halves are printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from assistant.answerers.base import refusal_text
from assistant.answerers.extractive import weak_answer
from eval.fit_sentences import held_out
from eval.metrics import compute_metrics
from eval.runner import read_rows
from eval.testset import Question, load_testset

SCORES = tuple(round(0.40 + 0.02 * i, 2) for i in range(12))  # 0.40 .. 0.62
READER = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.01)  # 1.01: whatever the reader says
SHOWN = ("answer_contains", "refusal_accuracy", "false_refusal_rate", "citation_precision")


@dataclass(frozen=True)
class Run:
    """One run's questions and rows, split into the fitting and held-out halves."""

    name: str
    questions: tuple[Question, ...]
    rows: Mapping[str, Mapping[str, Any]]

    def half(self, held: bool) -> list[Question]:
        """The questions of one half (`eval.fit_sentences.held_out`)."""
        return [q for q in self.questions if held_out(q) == held]


def load(folder: Path) -> Run:
    """A run folder's questions (from the test set its config.json names) and rows."""
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    rows = read_rows(folder / "questions.jsonl")
    if any("stats" not in row for row in rows.values()):
        raise SystemExit(f"{folder}: rows without `stats`: run `assistant eval` again with this version")
    questions = load_testset(config["testset"], config["docs"]).questions
    return Run(folder.name, tuple(q for q in questions if q.id in rows), rows)


def metrics(run: Run, questions: Sequence[Question], weak_score: float, weak_reader: float) -> dict[str, Any]:
    """The metrics of `questions` had the rule (`weak_answer`) refused where it would: only
    where the reader read, as in the answerer."""
    refusal = refusal_text()
    rows = {}
    for q in questions:
        row = run.rows[q.id]
        if not row["refused"] and "p_reader" in row["stats"] and weak_answer(row["stats"], weak_score, weak_reader):
            row = {**row, "answer": refusal, "refused": True, "citations": [], "short": None}
        rows[q.id] = row
    return compute_metrics(questions, rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Judge every setting on every run's halves; print them and the one chosen."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="assistant eval output folders (reader on)")
    parser.add_argument("--max-false-refusals", type=float, default=0.10)
    parser.add_argument("--loss-weight", type=float, default=3.0,
                        help="how much a lost right answer weighs against a refusal gained")
    parser.add_argument("--write", type=Path, metavar="READER_JSON",
                        help="store the chosen weak_score and weak_reader in this reader.json's `answerer`")
    args = parser.parse_args(argv)

    runs = [load(folder) for folder in args.runs]
    before = {r.name: metrics(r, r.half(False), 0.0, 0.0) for r in runs}
    chosen, best = (0.0, 0.0), 0.0
    for weak_score, weak_reader in itertools.product(SCORES, READER):
        gains, losses, within = [], [], True
        for run in runs:
            line = []
            for held in (False, True):
                m = metrics(run, run.half(held), weak_score, weak_reader)
                line.append(f"{'held_out' if held else 'fitted'}: " + " ".join(
                    f"{k}={m[k]:.3f}" for k in SHOWN if m[k] is not None))
                if not held:
                    b = before[run.name]
                    within &= (m["false_refusal_rate"] or 0.0) <= args.max_false_refusals
                    losses.append((b["answer_contains"] or 0.0) - (m["answer_contains"] or 0.0))
                    if m["refusal_accuracy"] is not None:
                        gains.append(m["refusal_accuracy"] - (b["refusal_accuracy"] or 0.0))
            print(f"{run.name} weak_score={weak_score} weak_reader={weak_reader} " + " | ".join(line))
        objective = sum(gains) / max(len(gains), 1) - args.loss_weight * sum(losses) / len(losses)
        if within and objective > best:
            chosen, best = (weak_score, weak_reader), objective
    print(f"chosen: weak_score={chosen[0]} weak_reader={chosen[1]}  # objective {best:.3f} on the fitting halves")
    if args.write:
        meta = json.loads(args.write.read_text(encoding="utf-8"))
        meta["answerer"].update(weak_score=chosen[0], weak_reader=chosen[1])
        args.write.write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
