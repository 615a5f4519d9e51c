"""The time-preference fit (eval/fit_time.py) recovers a recency preference from labelled choices."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from eval.fit_time import Candidates, fit, hits
from index.query import Query
from index.records import StoredChunk
from index.retrieval import RetrievalTuning, recency_factor

AS_OF = date(2024, 6, 30)
TRUE_FACTOR = {1: 1.0, 10: 0.6, 60: 0.35, 500: 0.25}  # how much likelier a fresh report answers


def _questions(n: int, seed: int) -> list[Candidates]:
    """Questions whose evidence report is drawn by score times TRUE_FACTOR of its age."""
    rng = np.random.default_rng(seed)
    out = []
    for q in range(n):
        ages = rng.choice(list(TRUE_FACTOR), size=8)
        scores = np.exp(rng.normal(0.0, 0.3, size=8)) * 0.03
        weights = scores ** 3 * np.array([TRUE_FACTOR[a] for a in ages])
        gold = np.zeros(8, dtype=bool)
        gold[rng.choice(8, p=weights / weights.sum())] = True
        chunks = [(StoredChunk(f"{q}-{i}", f"d{q}-{i}", "t", f"d{q}-{i}.md",
                               (AS_OF - timedelta(days=int(a))).isoformat(), 0, 1, "text"), float(s))
                  for i, (a, s) in enumerate(zip(ages, scores))]
        order = sorted(range(8), key=lambda i: -chunks[i][1])
        reports = [chunks[i] for i in order]
        out.append(Candidates(replace(Query.plain("q"), as_of=AS_OF), reports, reports, gold[order]))
    return out


def test_the_fit_finds_a_falling_prior_that_ranks_held_out_questions_better() -> None:
    fitted = fit(_questions(400, seed=1), l2=0.05, slack_days=1)
    factors = [recency_factor(age, fitted.recency_prior) for age in (1, 10, 60, 500)]
    assert factors[0] == 1.0 and factors[0] > factors[1] > factors[3]
    assert all(f <= 1.0 for _, f in fitted.recency_prior)
    held_out = _questions(400, seed=2)
    none = replace(RetrievalTuning(), recency_weight=0.0, window_boost=0.0)
    assert hits(held_out, fitted)[0] > hits(held_out, none)[0]
