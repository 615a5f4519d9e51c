"""The offline answerer: the sentences of the retrieved passages that best answer the question.

Grounded by construction: the answer is made of report sentences, each citing itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.answerers.base import Answerer, Reply
from assistant.citations import Claim, Support
from assistant.models import Passage, Turn
from index.embedding import Embedder
from index.keyword import tokenize
from index.sentences import sentence_spans


@dataclass(frozen=True)
class ExtractiveTuning:
    """Weights and thresholds, tuned on the development sets (README: Evaluation)."""

    semantic_weight: float = 0.6
    lexical_weight: float = 0.4
    min_score: float = 0.42  # below this the best sentence does not answer: refuse
    second_ratio: float = 0.9  # a second sentence must score this close to the best
    max_sentences: int = 2


@dataclass(frozen=True)
class _Candidate:
    passage: Passage
    start: int
    end: int
    text: str


class ExtractiveAnswerer(Answerer):
    """Scores each sentence by meaning (MiniLM) and by the question's words it contains."""

    name = "extractive"

    def __init__(self, embedder: Embedder, tuning: ExtractiveTuning = ExtractiveTuning()) -> None:
        self.embedder = embedder
        self.tuning = tuning

    def answer(self, question: str, passages: Sequence[Passage], history: Sequence[Turn]) -> Reply:
        """The best one or two sentences with their citations, or a refusal."""
        candidates = _candidates(passages)
        if not candidates:
            return Reply.refusal({"best_score": 0.0})
        scores = self.score(question, [c.text for c in candidates])
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        stats = {"best_score": round(best, 4)}
        if best < self.tuning.min_score:
            return Reply.refusal(stats)
        chosen = [int(order[0])]
        for i in order[1:]:
            if len(chosen) >= self.tuning.max_sentences:
                break
            if scores[i] >= max(self.tuning.min_score, best * self.tuning.second_ratio):
                chosen.append(int(i))
        claims = [
            Claim(
                text=candidates[i].text,
                supports=(Support(candidates[i].passage, candidates[i].start, candidates[i].end,
                                  float(scores[i])),),
            )
            for i in chosen
        ]
        return Reply.from_claims(claims, stats)

    def score(self, question: str, sentences: Sequence[str]) -> np.ndarray:
        """How well each sentence answers `question`, about 0 to 1."""
        vectors = self.embedder.embed([question, *sentences])
        semantic = vectors[1:] @ vectors[0]
        lexical = np.array(_lexical_overlap(question, sentences))
        return self.tuning.semantic_weight * semantic + self.tuning.lexical_weight * lexical


def _candidates(passages: Sequence[Passage]) -> list[_Candidate]:
    """Each distinct sentence of the passages (overlapping chunks repeat sentences)."""
    seen: set[tuple[str, int, int]] = set()
    found: list[_Candidate] = []
    for passage in passages:
        for s, e in sentence_spans(passage.text):
            key = (passage.doc_id, passage.start + s, passage.start + e)
            if key in seen or e - s < 2:
                continue
            seen.add(key)
            found.append(_Candidate(passage, key[1], key[2], passage.text[s:e]))
    return found


def _lexical_overlap(question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's content words in each sentence, rarer words weighing more."""
    tokenized = tokenize([question, *sentences])
    q_terms = set(tokenized[0])
    if not q_terms:
        return [0.0] * len(sentences)
    docs = [set(t) for t in tokenized[1:]]
    n = len(docs)
    weight = {t: math.log(1 + (n + 1) / (1 + sum(t in d for d in docs))) for t in q_terms}
    total = sum(weight.values())
    return [sum(weight[t] for t in q_terms if t in d) / total for d in docs]
