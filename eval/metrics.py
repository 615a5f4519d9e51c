"""The metrics of docs/interface.md (Evaluation), as pure functions of test-set questions and result rows.

A row is one line of `questions.jsonl`, so a run can be scored again from that file alone:
`{"id", "answer", "refused", "citations", "retrieved", "ranked_sources", "latency_ms"}`.
`retrieved` holds the passages handed to the answerer (with their `text`, to check evidence
quotes and whether a gold answer was there to find): `retrieval_hit@N` and `retrieval_mrr` are
over them. `ranked_sources` holds the sources of a second, deeper ranking (the top `max(k, 10)`
passages), for `report_hit@N` and `report_mrr`: a deeper first stage fuses other candidates, so
its top k are not always the passages handed (docs/evaluation.md: Two rankings).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from typing import Any, Iterable, Mapping, Sequence

from assistant.citations import cited_sentences, strip_markers
from eval.testset import Question

Row = Mapping[str, Any]

HIT_AT = (1, 3, 5, 10)
RANKING_DEPTH = max(HIT_AT)  # how many passages each question's ranking must list
GROUNDED_RECALL = 0.8  # share of a sentence's words that must be in a quote it cites

METRIC_NAMES: tuple[str, ...] = (
    *(f"retrieval_hit@{n}" for n in HIT_AT),
    "retrieval_mrr",
    *(f"report_hit@{n}" for n in HIT_AT),
    "report_mrr",
    "answer_contains",
    "answer_f1",
    "answer_in_passages",
    "short_answer_rate",
    "short_answer_em",
    "short_answer_f1",
    "citation_precision",
    "citation_recall",
    "groundedness",
    "refusal_accuracy",
    "false_refusal_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)

# How a question ended (results.json "breakdown"): every question falls in exactly one, in this order.
OUTCOMES: tuple[str, ...] = (
    "right",  # answerable, answer_contains
    "false_refusal",  # answerable, refused
    "retrieval_miss",  # answerable, answered wrong, no passage handed to the answerer from an evidence doc
    "not_chosen",  # answerable, answered wrong, an evidence doc's passage was handed to it
    "refused_right",  # unanswerable, refused
    "answered_unanswerable",  # unanswerable, answered
)

_ARTICLES = re.compile(r"\b(a|an|the)\b")
# ASCII punctuation plus the typographic quotes and dashes news reports use.
_PUNCTUATION = set(string.punctuation) | set("‘’“”–—…")


# --- text ------------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """SQuAD normalization: lower case, punctuation and a/an/the removed, spaces collapsed."""
    text = "".join(" " if ch in _PUNCTUATION else ch for ch in text.lower())
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize_text(text).split()


def contains_words(haystack: str, needle: str) -> bool:
    """Whether normalized `needle` occurs in normalized `haystack` on word boundaries."""
    needle = normalize_text(needle)
    return bool(needle) and f" {needle} " in f" {normalize_text(haystack)} "


def answer_text(row: Row) -> str:
    """The answer as scored: markers removed, and empty when refused (a refusal says nothing)."""
    return "" if row["refused"] else strip_markers(row["answer"])


# --- per question ----------------------------------------------------------------------


def contains_answer(row: Row, answers: Sequence[str]) -> bool:
    """Not refused, and the answer contains a gold answer on whole words (both normalized)."""
    return any(contains_words(answer_text(row), gold) for gold in answers)


def token_f1(prediction: str, gold: str) -> float:
    """SQuAD token F1 between two strings (after normalization)."""
    predicted, expected = _tokens(prediction), _tokens(gold)
    if not predicted or not expected:
        # SQuAD's convention: two empty strings agree, one empty one does not.
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def answer_in_passages(row: Row, answers: Sequence[str]) -> bool:
    """A gold answer occurs (normalized, whole words) in one of the passages handed to the
    answerer: the answer was there to be found, whatever the answerer made of it."""
    return any(contains_words(p["text"], gold) for p in row["retrieved"] for gold in answers)


def evidence_retrieved(row: Row, question: Question) -> bool:
    """A passage handed to the answerer is from an evidence document."""
    return any(p["source"] in question.evidence_sources for p in row["retrieved"])


def outcome(question: Question, row: Row) -> str:
    """How the question ended: one of OUTCOMES."""
    if not question.answerable:
        return "refused_right" if row["refused"] else "answered_unanswerable"
    if contains_answer(row, question.answers):
        return "right"
    if row["refused"]:
        return "false_refusal"
    # Answered wrong: could the answerer have done better with what it was handed?
    return "not_chosen" if evidence_retrieved(row, question) else "retrieval_miss"


def short_text(row: Row) -> str | None:
    """The short answer of a row, if it gave one (rows written before short answers have none)."""
    short = None if row["refused"] else row.get("short")
    return short["text"] if short else None


def best_f1(row: Row, answers: Sequence[str]) -> float:
    """The best token F1 of the answer against any gold answer."""
    return max((token_f1(answer_text(row), gold) for gold in answers), default=0.0)


def first_hit_rank(sources: Sequence[str], question: Question) -> int | None:
    """1-based rank of the first of `sources` that is an evidence document, None when none is."""
    for rank, source in enumerate(sources, 1):
        if source in question.evidence_sources:
            return rank
    return None


def handed_sources(row: Row) -> list[str]:
    """The sources of the passages handed to the answerer, best first."""
    return [p["source"] for p in row["retrieved"]]


def cited_passage_text(citation: Mapping[str, Any], retrieved: Sequence[Mapping[str, Any]]) -> str:
    """The text of the retrieved passage a citation's span lies in (its quote if none holds it)."""
    for passage in retrieved:
        if (passage["doc_id"] == citation["doc_id"]
                and passage["start"] <= citation["start"] and citation["end"] <= passage["end"]):
            return passage["text"]
    return citation["quote"]


def citation_is_correct(
    citation: Mapping[str, Any], retrieved: Sequence[Mapping[str, Any]], question: Question
) -> bool:
    """The cited passage is from an evidence document and contains that document's evidence
    quote, where the evidence gives one (normalized, whole words)."""
    quotes = [e.quote for e in question.evidence if e.source == citation["source"]]
    if not quotes:
        return False
    if any(q is None for q in quotes):
        return True  # this evidence names the document only
    passage = cited_passage_text(citation, retrieved)
    return any(contains_words(passage, q) for q in quotes if q)


def answer_sentences(answer: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences as the answerer wrote its claims (`cited_sentences`), each with
    the marker numbers that close it; pieces without a word to score are left out."""
    return [(text, markers) for text, markers in cited_sentences(answer) if _tokens(text)]


def sentence_is_supported(sentence: str, quotes: Iterable[str]) -> bool:
    """At least GROUNDED_RECALL of the sentence's words (normalized, with repeats) are in one quote."""
    words = Counter(_tokens(sentence))
    total = sum(words.values())
    return total > 0 and any(
        sum((words & Counter(_tokens(quote))).values()) / total >= GROUNDED_RECALL
        for quote in quotes
    )


def grounded_sentences(row: Row) -> tuple[int, int]:
    """`(supported, total)` sentences of a non-refused answer; `(0, 0)` for a refusal."""
    if row["refused"]:
        return 0, 0
    quotes = {c["n"]: c["quote"] for c in row["citations"]}
    sentences = answer_sentences(row["answer"])
    supported = sum(
        sentence_is_supported(text, [quotes[n] for n in markers if n in quotes])
        for text, markers in sentences
    )
    return supported, len(sentences)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between ranks, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the whole run ---------------------------------------------------------------------


def _ratio(numerator: float, denominator: int) -> float | None:
    """A share, or None (null in JSON) when nothing was there to count."""
    return numerator / denominator if denominator else None


def compute_metrics(questions: Sequence[Question], rows: Mapping[str, Row]) -> dict[str, float | None]:
    """Every metric of docs/interface.md, by name, over the questions that have a row.

    Answerable-only metrics divide by answerable questions, `citation_precision` by the
    citations in answers to them, `citation_recall` by the answerable ones not refused,
    `groundedness` by the sentences of non-refused answers; an empty denominator gives None.
    """
    scored = [(q, rows[q.id]) for q in questions if q.id in rows]
    answerable = [(q, r) for q, r in scored if q.answerable]
    unanswerable = [(q, r) for q, r in scored if not q.answerable]
    answered = [(q, r) for q, r in answerable if not r["refused"]]

    metrics: dict[str, float | None] = {}
    for name, sources in (("retrieval", handed_sources), ("report", lambda r: r["ranked_sources"])):
        ranks = [first_hit_rank(sources(r), q) for q, r in answerable]
        for n in HIT_AT:
            metrics[f"{name}_hit@{n}"] = _ratio(sum(r is not None and r <= n for r in ranks), len(ranks))
        metrics[f"{name}_mrr"] = _ratio(sum(1 / r for r in ranks if r is not None), len(ranks))
    metrics["answer_contains"] = _ratio(sum(contains_answer(r, q.answers) for q, r in answerable),
                                        len(answerable))
    metrics["answer_f1"] = _ratio(sum(best_f1(r, q.answers) for q, r in answerable), len(answerable))
    metrics["answer_in_passages"] = _ratio(sum(answer_in_passages(r, q.answers) for q, r in answerable),
                                           len(answerable))
    shorts = [(q, short_text(r)) for q, r in answerable if short_text(r) is not None]
    metrics["short_answer_rate"] = _ratio(len(shorts), len(answerable))
    metrics["short_answer_em"] = _ratio(
        sum(normalize_text(s) in {normalize_text(a) for a in q.answers} for q, s in shorts), len(shorts))
    metrics["short_answer_f1"] = _ratio(
        sum(max((token_f1(s, a) for a in q.answers), default=0.0) for q, s in shorts), len(shorts))

    verdicts = [[citation_is_correct(c, r["retrieved"], q) for c in r["citations"]]
                for q, r in answerable]
    metrics["citation_precision"] = _ratio(sum(map(sum, verdicts)), sum(map(len, verdicts)))
    metrics["citation_recall"] = _ratio(
        sum(any(v) for (q, r), v in zip(answerable, verdicts) if not r["refused"]), len(answered)
    )
    grounded = [grounded_sentences(r) for _, r in scored]
    metrics["groundedness"] = _ratio(sum(s for s, _ in grounded), sum(t for _, t in grounded))
    metrics["refusal_accuracy"] = _ratio(sum(r["refused"] for _, r in unanswerable), len(unanswerable))
    metrics["false_refusal_rate"] = _ratio(sum(r["refused"] for _, r in answerable), len(answerable))
    latencies = [float(r["latency_ms"]) for _, r in scored]
    metrics["latency_p50_ms"] = percentile(latencies, 50)
    metrics["latency_p95_ms"] = percentile(latencies, 95)
    return metrics


def compute_breakdown(questions: Sequence[Question], rows: Mapping[str, Row]) -> dict[str, int]:
    """results.json's `breakdown`: how many of the questions that have a row ended each way
    (every OUTCOMES name, zeros included, so runs compare key by key)."""
    counts = Counter(outcome(q, rows[q.id]) for q in questions if q.id in rows)
    return {name: counts[name] for name in OUTCOMES}
