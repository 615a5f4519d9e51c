"""The offline answerer: the sentences of the retrieved passages that best answer the question.

Grounded by construction: the answer is made of report sentences, each citing itself.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from assistant.answerers.base import Answerer, AnswererKind, Reply
from assistant.answerers.spans import (
    DAY_WORDS,
    MONTHS,
    NOT_NAMES,
    NUMBER_WORDS,
    YEAR,
    answer_kind,
    answer_spans,
    question_words,
    span_strength,
)
from assistant.citations import Claim, Support
from assistant.sentences import after_dateline, lexical_overlap
from assistant.config import Settings
from index import READER_DIR, Embedder, Query, Reader, Reading, Short, shared_reader
from index.common.errors import ConfigError
from index.common.text import sentence_spans, tokenize
from index.common.types import Passage, Retrieved


@dataclass(frozen=True)
class ExtractiveTuning:
    """Weights and thresholds, tuned on the development sets (docs/evaluation.md).

    The passage weight lets a sentence borrow its passage's relevance: news sentences lean on
    their neighbours ("He added ..."). The threshold is set for few false refusals of
    answerable questions, above what off-topic questions score.
    """

    semantic_weight: float = 0.2
    lexical_weight: float = 0.4
    passage_weight: float = 0.4
    # Bonus of a sentence holding an answer of the asked kind (`spans.answer_kind`; half for a
    # name where a country, state or person is asked); the answerability model judges the best
    # sentence by the coarser `question_type`, as it was fitted.
    type_weight: float = 0.08
    min_score: float = 0.29  # below this the best sentence does not answer: refuse
    # Further sentences (up to `max_sentences`) must score within `further_margin` of the best:
    # on real news the first choice is often wrong, and a second or third close one holds the
    # answer. Chosen by eval/fit_sentences.py: the widest margin that keeps the citations
    # precise (docs/evaluation.md).
    further_margin: float = 0.07
    max_sentences: int = 3
    # The answerability model (see `answerable_probability`); refuse below this probability.
    min_answerable: float = 0.35
    vouched_min_score: float = 0.3  # ... unless the best sentence vouches for itself (answer())
    # Only this many sentences, the best by words, passage relevance and answer kind, are
    # embedded: the meaning term weighs least, and embedding every sentence of five passages
    # would cost more than the rest of an ask.
    sentence_pool: int = 12
    # The reader (index/reader.py), where it is on. Its judgment of each sentence is weighted
    # into the sentence's score: `reader_term` "answers" (its probability that the sentence
    # answers; a one-head model's only output) or "choice" (the softmax of its choice head over
    # the pooled sentences). Its probability that the best sentence
    # answers at all refuses below `reader_min_probability` and vouches for the answer against
    # the answerability model from `reader_vouch` (above 1: never); a further sentence is shown
    # only when the reader gives it `reader_further` or more (it adds a fact, not padding); the
    # answer in a few words is given from `short_min_probability`. Fitted by eval/fit_sentences.py.
    reader_weight: float = 0.1
    reader_term: str = "answers"
    reader_vouch: float = 1.01
    reader_min_probability: float = 0.0
    reader_further: float = 0.0
    # A weak answer is refused: the best sentence scores under `weak_score` and the reader gives
    # no pooled sentence `weak_reader` or more. Of the answers it removes, about three in four
    # would have been wrong (docs/evaluation.md: Refusing weak answers; eval/fit_refusal.py).
    weak_score: float = 0.0
    weak_reader: float = 0.0
    short_min_probability: float = 1.01
    short_max_words: int = 10


@dataclass(frozen=True)
class _Candidate:
    passage: Passage  # what the citation quotes from
    start: int
    end: int
    text: str
    # The retrieved passage whose relevance the sentence borrows (a headline: its report's).
    scored_by: Passage


# The reader's judgment of sentences (with their reports' titles) answering a question.
ReaderRead = Callable[[str, Sequence[str], Sequence[str]], Reading]


class ExtractiveAnswerer(Answerer):
    """Scores each sentence by meaning (MiniLM), by the question's words it contains and by the
    answer of the asked kind it names."""

    name = "extractive"

    def __init__(
        self,
        embedder: Embedder,
        tuning: ExtractiveTuning = ExtractiveTuning(),
        reader: ReaderRead | None = None,
    ) -> None:
        self.embedder = embedder
        self.tuning = tuning
        self.reader = reader

    def answer(self, query: Query, found: Retrieved) -> Reply:
        """The best sentences (up to `max_sentences`) of the passages and their reports'
        headlines, with their citations, or a refusal."""
        t = self.tuning
        question = query.text
        candidates = _candidates(found)
        if not candidates:
            return Reply.refusal({"best_score": 0.0})
        kind = answer_kind(question, question_type(question))
        words = question_words(question)
        strength = np.array([max((span_strength(s, kind, words) for s in answer_spans(c.text)), default=0.0)
                             for c in candidates])
        bonus = t.type_weight * strength
        base = self.score(query, candidates, bonus, found.vectors)
        base[_restatements(question, [c.text for c in candidates])] = -np.inf
        if not np.isfinite(base).any():
            return Reply.refusal({"best_score": 0.0})
        reading = self._read(query, candidates, base) if self.reader is not None else None
        term = (reading.choice if t.reader_term == "choice" else reading.answers) if reading is not None else 0.0
        scores = base + bonus + t.reader_weight * term
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        judged, p_answerable, vouched = self._answerability(question, candidates, base)
        stats = {"best_score": round(best, 4), "p_answerable": round(p_answerable, 4)}
        if reading is not None:
            p_reader = float(reading.answers[order[0]])
            stats["p_reader"] = round(p_reader, 4)
            # Beside the best sentence's: what a refusal rule may weigh (eval's questions.jsonl
            # keeps these for refused questions too).
            stats["p_reader_max"] = round(float(reading.answers.max()), 4)
            first_short = reading.shorts[order[0]]
            stats["p_short"] = round(first_short.probability, 4) if first_short is not None else 0.0
            stats["p_short_max"] = round(max((s.probability for s in reading.shorts if s is not None),
                                             default=0.0), 4)
            vouched = vouched or p_reader >= t.reader_vouch
            if p_reader < t.reader_min_probability:
                return Reply.refusal(stats)
            if weak_answer(stats, t.weak_score, t.weak_reader):
                return Reply.refusal(stats)
        if judged < t.min_score or (p_answerable < t.min_answerable and not vouched):
            return Reply.refusal(stats)
        return self._reply(candidates, order, base, scores, stats, reading)

    def _read(self, query: Query, candidates: Sequence[_Candidate], base: np.ndarray) -> _Read:
        """The reader's judgment of the pooled sentences (finite `base`); the others get a
        choice and probability of 0 and no short answer."""
        pool = np.flatnonzero(np.isfinite(base))
        reading = self.reader(query.text, [candidates[i].text for i in pool],
                              [candidates[i].scored_by.title or "" for i in pool])
        read = _Read(np.zeros(len(candidates)), np.zeros(len(candidates)), [None] * len(candidates))
        choice = np.exp(reading.choice - reading.choice.max())
        read.choice[pool] = choice / choice.sum()
        read.answers[pool] = reading.answers
        for at, short in zip(pool, reading.shorts):
            read.shorts[at] = short
        return read

    def _reply(self, candidates: Sequence[_Candidate], order: np.ndarray, base: np.ndarray,
               scores: np.ndarray, stats: dict[str, float], reading: _Read | None) -> Reply:
        """The best sentence and those following it within `further_margin` (and, with the
        reader, that it says answer too), each cited; the best's short answer where the reader
        is sure of it."""
        t = self.tuning
        best = float(scores[order[0]])
        chosen = [int(order[0])]
        for i in order[1 : t.max_sentences]:
            if base[i] < t.min_score or scores[i] < best - t.further_margin:
                break
            if reading is not None and reading.answers[i] < t.reader_further:
                continue
            chosen.append(int(i))
        claims = [
            Claim(
                text=candidates[i].text,
                supports=(Support(candidates[i].passage, candidates[i].start, candidates[i].end,
                                  float(scores[i])),),
            )
            for i in chosen
        ]
        return Reply.from_claims(claims, stats, self._short(candidates, chosen, reading, stats))

    def _short(self, candidates: Sequence[_Candidate], chosen: Sequence[int], reading: _Read | None,
               stats: dict[str, float]) -> Support | None:
        """The reader's surest short answer inside the chosen sentences, when it is sure enough
        and short. Not only the first sentence's: on news the first is often the one that restates
        the story and the second names the answer (docs/evaluation.md: Short answers from every
        sentence shown)."""
        if reading is None:
            return None
        shorts = [(reading.shorts[i], i) for i in chosen if reading.shorts[i] is not None]
        if not shorts:
            return None
        short, at = max(shorts, key=lambda found: found[0].probability)
        stats["p_short"] = round(short.probability, 4)
        candidate = candidates[at]
        text = candidate.text[short.start : short.end]
        if short.probability < self.tuning.short_min_probability or len(text.split()) > self.tuning.short_max_words:
            return None
        return Support(candidate.passage, candidate.start + short.start, candidate.start + short.end,
                       short.probability)

    def _answerability(
        self, question: str, candidates: Sequence[_Candidate], base: np.ndarray
    ) -> tuple[float, float, bool]:
        """The sentence the refusal rules judge (the best by `base` plus the `question_type`
        bonus, as the answerability model was fitted): its `base` score, the model's
        probability, and whether it vouches for itself by naming an answer of the asked type and
        every name and number of the question (the model sees few such sentences)."""
        t = self.tuning
        qtype = question_type(question)
        q_words = _lower_words(question)
        typed = np.array([_has_answer(c.text, qtype, q_words) for c in candidates], dtype=float)
        scores = base + (t.type_weight * typed if qtype else 0.0)
        order = np.argsort(-scores, kind="stable")
        top = int(order[0])
        second = float(scores[order[1]]) if len(order) > 1 and np.isfinite(scores[order[1]]) else 0.0
        features = answerability_features(
            question, qtype, float(base[top]), bool(typed[top]), candidates[top].text,
            candidates[top].passage.text, float(scores[top]) - second,
        )
        named = dict(zip(FEATURE_NAMES, features))
        vouched = (bool(typed[top]) and named["key_coverage_sentence"] == 1.0
                   and named["has_key_terms"] == 1.0 and float(base[top]) >= t.vouched_min_score)
        return float(base[top]), answerable_probability(features), vouched

    def score(
        self, question: Query, candidates: Sequence[_Candidate], bonus: np.ndarray | None = None,
        vectors: Mapping[str, np.ndarray] | None = None,
    ) -> np.ndarray:
        """How well each candidate sentence answers `question`, about 0 to 1.

        Words and passage relevance come first; only the `sentence_pool` best by those (plus
        `bonus`) are embedded, and the rest score -inf: they cannot be chosen. `vectors` are
        passages' stored vectors by chunk id, so that they need not be embedded again.
        """
        t = self.tuning
        query = question.vector if question.vector is not None else self.embedder.embed_query(question.search_text)
        similarity = self._passage_similarity(query, candidates, vectors or {})
        cheap = (
            t.lexical_weight * np.array(lexical_overlap(question.text, [c.text for c in candidates]))
            + t.passage_weight * np.array([similarity[c.scored_by.chunk_id] for c in candidates])
        )
        ranking = cheap + (bonus if bonus is not None else 0.0)
        pool = np.argsort(-ranking, kind="stable")[: t.sentence_pool]
        scores = np.full(len(candidates), -np.inf)
        sentence_vectors = self.embedder.embed([candidates[i].text for i in pool])
        scores[pool] = cheap[pool] + t.semantic_weight * (sentence_vectors @ query)
        return scores

    def _passage_similarity(self, query: np.ndarray, candidates: Sequence[_Candidate],
                            vectors: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Cosine of the question to each candidate's passage: stored vectors where there are."""
        passages = {c.scored_by.chunk_id: c.scored_by for c in candidates}
        stored = {cid: vectors[cid] for cid in passages if cid in vectors}
        missing = [cid for cid in passages if cid not in stored]
        stored.update(zip(missing, self.embedder.embed([passages[cid].text for cid in missing])))
        return {cid: float(vector @ query) for cid, vector in stored.items()}


@dataclass(frozen=True)
class _Read:
    """The reader's judgment spread over all candidates (`ExtractiveAnswerer._read`)."""

    choice: np.ndarray  # the reader's choice, a softmax over the pooled sentences
    answers: np.ndarray  # probability that the sentence answers
    shorts: list[Short | None]


def weak_answer(stats: Mapping[str, float], weak_score: float, weak_reader: float) -> bool:
    """Whether the weak-answer rule refuses an answer with these stats (those of a question the
    reader read): the best sentence under `weak_score` and no pooled sentence judged
    `weak_reader` or more. It compares the rounded stats an evaluation's questions.jsonl keeps,
    so that eval/fit_refusal.py replays it exactly."""
    return stats["best_score"] < weak_score and stats["p_reader_max"] < weak_reader


def _candidates(retrieved: Retrieved) -> list[_Candidate]:
    """Each distinct sentence of the passages (overlapping chunks repeat sentences), without
    a dateline in front, and the headline of each of their reports (`index/headlines.py`), which
    borrows the relevance of the report's first passage."""
    seen: set[tuple[str, int, int]] = set()
    found: list[_Candidate] = []
    passages = retrieved.passages
    firsts = {p.doc_id: p for p in reversed(passages)}
    heads = {d: h for d, h in retrieved.headlines.items() if d in firsts}
    seen.update((h.doc_id, h.start, h.end) for h in heads.values())
    for passage in passages:
        for s, e in sentence_spans(passage.text):
            s = after_dateline(passage.text, s, e)
            key = (passage.doc_id, passage.start + s, passage.start + e)
            text = passage.text[s:e]
            if key in seen or e - s < 2 or (passage.title and text.strip() == passage.title.strip()):
                continue
            seen.add(key)
            found.append(_Candidate(passage, key[1], key[2], text, passage))
    found.extend(_Candidate(h, h.start, h.end, h.text, firsts[doc_id]) for doc_id, h in heads.items())
    return found


def _restatements(question: str, sentences: Sequence[str]) -> np.ndarray:
    """Whether each sentence only restates the question (every word of it is the question's,
    as a digest that prints the quiz does): never an answer, however well it matches."""
    question_terms, *sentence_terms = tokenize([question, *sentences])
    asked = set(question_terms)
    return np.array([bool(terms) and set(terms) <= asked for terms in sentence_terms], dtype=bool)


# --- question types and answerability ------------------------------------------------------

# The coarse types and the answerability model were fitted with spans.py's lexicons less the
# two words it added later ("trillion" as a number, "former" as a non-name): they keep those.
_NUMBER_WORDS = NUMBER_WORDS - {"trillion"}
_NOT_NAMES = NOT_NAMES - {"former"}
_TYPE_RULES = (
    ("number", re.compile(r"\bhow (many|much|long|old|far|big|large|tall|high|often|fast)\b|"
                          r"\bwhat (number|percentage|percent|amount|proportion|share)\b", re.I)),
    ("date", re.compile(r"\bwhen\b|\b(what|which) (year|date|day|month|time|century|decade|period)\b|"
                        r"\bin what year\b|\bhow long ago\b", re.I)),
    ("place", re.compile(r"\bwhere\b|\b(what|which) (country|city|place|state|region|town|"
                         r"province|continent|location|area|island|river)\b", re.I)),
    ("name", re.compile(r"\bwho(m|se)?\b|\b(what|which) (company|person|organi[sz]ation|team|"
                        r"group|agency|party|firm|president|minister|official|man|woman)\b", re.I)),
)
_WORDS = re.compile(r"[\w$%][\w$%.,'-]*[\w%]|[\w$%]")
_NEGATION = re.compile(r"\b(not|never|no|n't|without|neither|nor|none|fail(ed)?)\b|n't\b", re.I)


def question_type(question: str) -> str | None:
    """"number", "date", "place" or "name": the kind of answer asked for; None when unclear."""
    for name, pattern in _TYPE_RULES:
        if pattern.search(question):
            return name
    return None


def _lower_words(text: str) -> set[str]:
    return {w.lower().strip(".,'") for w in _WORDS.findall(text)}


def _has_answer(sentence: str, qtype: str | None, question_words: set[str]) -> bool:
    """True when `sentence` holds an answer of type `qtype` that the question does not name."""
    if qtype is None:
        return False
    for word in _WORDS.findall(sentence):
        bare = word.strip(".,'")
        low = bare.lower()
        if not bare or low in question_words:
            continue
        if qtype == "number":  # a year is a date, not a count
            if (any(ch.isdigit() for ch in bare) and not YEAR.fullmatch(low)) or low in _NUMBER_WORDS:
                return True
        elif qtype == "date":
            if YEAR.fullmatch(low) or low in MONTHS or low in DAY_WORDS:
                return True
        elif bare[0].isupper() and low not in _NOT_NAMES and not any(ch.isdigit() for ch in bare):
            return True
    return False


def _key_terms(question: str) -> set[str]:
    """The question's names and numbers: capitalized words after its first, and digits."""
    words = _WORDS.findall(question)
    keys = {w.lower().strip(".,'") for i, w in enumerate(words)
            if (i > 0 and w[0].isupper() and w.lower() not in _NOT_NAMES) or any(c.isdigit() for c in w)}
    return {k for k in keys if k}


def answerability_features(
    question: str, qtype: str | None, best: float, typed: bool, sentence: str, passage: str,
    margin: float,
) -> list[float]:
    """Features of the best sentence for `answerable_probability`, in FEATURE_NAMES order."""
    keys = _key_terms(question)
    passage_words = _lower_words(passage)
    sentence_words = _lower_words(sentence)
    coverage = sum(k in passage_words for k in keys) / len(keys) if keys else 1.0
    sentence_coverage = sum(k in sentence_words for k in keys) / len(keys) if keys else 1.0
    negated = bool(_NEGATION.search(question)) and not _NEGATION.search(sentence)
    return [
        best,
        float(qtype is not None),
        float(qtype is not None and typed),
        coverage,
        sentence_coverage,
        float(bool(keys)),
        margin,
        float(negated),
    ]


FEATURE_NAMES = ("best_score", "typed_question", "typed_answer_found", "key_coverage_passage",
                 "key_coverage_sentence", "has_key_terms", "margin", "unmatched_negation")
# A logistic model of P(answerable) over `FEATURE_NAMES`, fitted with scikit-learn's
# LogisticRegression on the squad2-dev questions whose crc32(id) is even and checked on the odd
# ones; how it was fitted and how it does: docs/evaluation.md (Sample test set and squad2-dev).
ANSWERABLE_WEIGHTS = (4.911, -0.856, 0.32, 0.169, -0.044, 0.254, 0.491, -1.875)
ANSWERABLE_BIAS = -2.675


def answerable_probability(features: Sequence[float]) -> float:
    """The answerability model's probability that the best sentence answers the question."""
    z = ANSWERABLE_BIAS + sum(w * f for w, f in zip(ANSWERABLE_WEIGHTS, features))
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def make(_: str, settings: Settings, embedder: Embedder) -> ExtractiveAnswerer:
    """`extractive`, the offline default: needs no model besides the embedder and, unless
    `settings.reader` is off, a reader (the shipped one, or the model in the folder it names),
    read with the answerer settings fitted for it (its reader.json)."""
    reader = configured_reader(settings)
    if reader is None:
        return ExtractiveAnswerer(embedder)
    return ExtractiveAnswerer(embedder, reader_tuning(reader.meta.answerer), reader.read)


def configured_reader(settings: Settings) -> Reader | None:
    """The reader `settings.reader` names: the shipped one (on), the model in the folder it
    names, or None (off)."""
    if settings.reader == "off":
        return None
    return shared_reader(READER_DIR if settings.reader == "on" else Path(settings.reader))


def reader_tuning(fitted: Mapping[str, float | str]) -> ExtractiveTuning:
    """The default tuning with a reader model's fitted settings; ConfigError naming a setting
    the answerer does not have."""
    default = ExtractiveTuning()
    unknown = sorted(set(fitted) - {f.name for f in fields(ExtractiveTuning)})
    if unknown:
        raise ConfigError(f"reader.json: answerer settings {', '.join(unknown)} are not ExtractiveTuning's")
    return replace(default, **{k: type(getattr(default, k))(v) for k, v in fitted.items()})


KIND = AnswererKind("extractive", needs_target=False, make=make)
