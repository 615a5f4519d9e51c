"""Fit the time preference of retrieval on dated news: the recency prior
(`index.retrieval.RECENCY_PRIOR`, a report's score factor by its age at `as_of`) and the factor
of a dated report outside the question's time frame (`window_boost`); check both on other runs.

    python -m eval.fit_time RUN_DIR... [--check RUN_DIR...] [--depth 20] [--l2 0.05]

Each RUN_DIR is an `assistant eval` output folder over a dated build (its `.index` and the test
set its config.json names). For every answerable question with an `as_of`, the hybrid first
stage's `--depth` candidates are read with the time preference off, one score per report (its
best chunk's). The prior is fitted by conditional logit, the question's evidence reports being
the chosen ones among its candidates: a report's utility is `a * log(score)` plus a term
piecewise linear in log(1 + age) between the knots (0 at the first), plus one for being outside
the question's time frame; the factors are those terms divided by `a`, relative to the
likeliest age and made non-increasing with age (each knot raised to the highest factor of the
older ones), so an undated report, like one of the right time, is never below a dated one; an
L2 penalty of `--l2` on the terms. The likeliest prior ranks worse than a milder one (its
hit@1 falls on every year), so its strength, the power the factors are raised to, is then
chosen among `STRENGTHS` by the mean of hit@1 and hit@5 over the fitting questions. Prints the fitted constants, then for the fitting runs and
each `--check` run the hit@1 and hit@5 of the reports ordered with no time preference, with
the shipped one and with the fitted one, each through `index.retrieval.time_factor` and
`time_strength` as retrieval applies them (passage diversity and copies left out).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.optimize import minimize

from assistant.config import Settings
from assistant.core import Assistant
from eval.testset import load_testset
from index import RECENCY_PRIOR, Query, RetrievalTuning, StoredChunk, time_factor, time_strength
from index.common.dates import try_date

KNOTS = tuple(age for age, _ in RECENCY_PRIOR)
STRENGTHS = (0.25, 0.4, 0.5, 0.6, 0.75, 1.0)


@dataclass
class Candidates:
    """One question's first-stage candidates, one per report, and which are its evidence."""

    query: Query
    chunks: list[tuple[StoredChunk, float]]  # every candidate chunk, for `time_strength`
    reports: list[tuple[StoredChunk, float]]  # each report's best chunk, best first
    gold: np.ndarray  # bool per report


def read_candidates(run: Path, depth: int) -> list[Candidates]:
    """The candidates of every answerable question with an `as_of` in the eval run `run`."""
    config = json.loads((run / "config.json").read_text())
    settings = replace(Settings.load(), home=run / ".index", chroma_url=None, collection="eval")
    assistant = Assistant.open(settings, reader="off")
    out = []
    for question in load_testset(config["testset"], config["docs"]).questions:
        if not question.answerable or not question.as_of:
            continue
        query = assistant.query(question.question, as_of=question.as_of)
        chunks = assistant.index.ranked(query, depth)
        best: dict[str, tuple[StoredChunk, float]] = {}
        for chunk, score in chunks:
            best.setdefault(chunk.doc_id, (chunk, score))
        reports = list(best.values())
        gold = {e.source for e in question.evidence}
        out.append(Candidates(query, chunks, reports,
                              np.array([chunk.source in gold for chunk, _ in reports])))
    return out


def _hat(age: int) -> np.ndarray:
    """Interpolation weights of `age` over the knots, in log(1 + age)."""
    x = math.log1p(max(age, 0))
    grid = np.log1p(KNOTS)
    weights = np.zeros(len(KNOTS))
    if x >= grid[-1]:
        weights[-1] = 1.0
        return weights
    j = int(np.searchsorted(grid, x, side="right")) - 1
    t = (x - grid[j]) / (grid[j + 1] - grid[j])
    weights[j], weights[j + 1] = 1.0 - t, t
    return weights


def _features(c: Candidates, slack_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per report: log score, knot weights of its age (zero when undated or in the frame), and
    whether it is dated and outside the question's frame."""
    log_score = np.array([math.log(max(score, 1e-12)) for _, score in c.reports])
    ages = np.zeros((len(c.reports), len(KNOTS)))
    outside = np.zeros(len(c.reports))
    for i, (chunk, _) in enumerate(c.reports):
        if not chunk.date or c.query.as_of is None:
            continue
        published = try_date(chunk.date)
        if published is None:
            continue
        if c.query.has_window:
            if c.query.in_window(published, slack_days):
                continue
            outside[i] = 1.0
        ages[i] = _hat((c.query.as_of - published).days)
    return log_score, ages, outside


def fit(questions: Sequence[Candidates], l2: float, slack_days: int) -> RetrievalTuning:
    """The tuning with the prior and frame factor fitted on `questions` (module docstring)."""
    rows = [(*_features(c, slack_days), c.gold) for c in questions if c.gold.any()]
    n_knots = len(KNOTS)

    def loss(theta: np.ndarray) -> float:
        a, terms, out = theta[0], np.concatenate([[0.0], theta[1:n_knots]]), theta[n_knots]
        total = 0.0
        for log_score, ages, outside, gold in rows:
            z = a * log_score + ages @ terms + out * outside
            total -= np.logaddexp.reduce(z[gold]) - np.logaddexp.reduce(z)
        return total + l2 * (float(terms @ terms) + out * out)

    start = np.zeros(n_knots + 1)
    start[0] = 30.0
    theta = minimize(loss, start, method="L-BFGS-B").x
    a = theta[0]
    terms = np.concatenate([[0.0], theta[1:n_knots]]) / a
    # Relative to the likeliest age; each knot raised to the best of the older ones, so a
    # fresher report never loses more than an older one.
    factors = np.maximum.accumulate(np.exp(terms - terms.max())[::-1])[::-1]
    outside = math.exp(min(theta[n_knots] / a, 0.0))
    likeliest = replace(RetrievalTuning(), window_boost=round(1.0 / outside - 1.0, 2))

    def at(strength: float) -> RetrievalTuning:
        prior = tuple((age, round(float(f) ** strength, 2)) for age, f in zip(KNOTS, factors))
        return replace(likeliest, recency_prior=prior)

    return max((at(strength) for strength in STRENGTHS), key=lambda tuning: sum(hits(questions, tuning)))


def hits(questions: Sequence[Candidates], tuning: RetrievalTuning) -> tuple[float, float]:
    """hit@1 and hit@5 of the reports reordered by `tuning`'s time preference."""
    h1 = h5 = 0
    for c in questions:
        strength = time_strength(c.chunks, tuning.min_dated_share)
        scores = [score * time_factor(c.query, chunk.date, tuning, strength) for chunk, score in c.reports]
        order = np.argsort(-np.array(scores), kind="stable")
        h1 += bool(c.gold[order[:1]].any())
        h5 += bool(c.gold[order[:5]].any())
    n = max(len(questions), 1)
    return round(h1 / n, 3), round(h5 / n, 3)


def main(argv: Sequence[str] | None = None) -> int:
    """Fit on the runs given, print the constants and the simulated hits of each run."""
    ap = argparse.ArgumentParser(prog="python -m eval.fit_time", description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+", type=Path, help="eval output folders of dated builds to fit on")
    ap.add_argument("--check", nargs="*", type=Path, default=[], help="eval output folders to check on")
    ap.add_argument("--depth", type=int, default=RetrievalTuning().min_candidates)
    ap.add_argument("--l2", type=float, default=0.05)
    args = ap.parse_args(argv)
    shipped = RetrievalTuning()
    data = {run: read_candidates(run, args.depth) for run in [*args.runs, *args.check]}
    fitted = fit([c for run in args.runs for c in data[run]], args.l2, shipped.window_slack_days)
    print(f"RECENCY_PRIOR = {fitted.recency_prior}\nwindow_boost = {fitted.window_boost}")
    none = replace(shipped, recency_weight=0.0, window_boost=0.0)
    for run, questions in data.items():
        role = "fit" if run in args.runs else "check"
        print(f"{run.name} ({role}, {len(questions)} questions): none {hits(questions, none)} "
              f"shipped {hits(questions, shipped)} fitted {hits(questions, fitted)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
