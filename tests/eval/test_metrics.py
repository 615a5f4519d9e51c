"""The evaluation metrics on small hand-made rows, with values worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.citations import cited_sentences
from eval.metrics import (
    METRIC_NAMES,
    OUTCOMES,
    answer_in_passages,
    answer_sentences,
    best_f1,
    compute_breakdown,
    compute_metrics,
    contains_answer,
    normalize_text,
    outcome,
    percentile,
    sentence_is_supported,
    token_f1,
)
from eval.testset import Evidence, Question

pytestmark = pytest.mark.fast

SPEC_METRICS = [
    "retrieval_hit@1", "retrieval_hit@3", "retrieval_hit@5", "retrieval_hit@10", "retrieval_mrr",
    "report_hit@1", "report_hit@3", "report_hit@5", "report_hit@10", "report_mrr",
    "answer_contains", "answer_f1", "answer_in_passages", "short_answer_rate", "short_answer_em",
    "short_answer_f1", "citation_precision", "citation_recall",
    "groundedness", "refusal_accuracy", "false_refusal_rate", "latency_p50_ms", "latency_p95_ms",
]


def question(qid: str, answers: tuple[str, ...] = (), evidence: tuple[Evidence, ...] = ()) -> Question:
    return Question(id=qid, question=f"question {qid}?", answers=answers,
                    answerable=bool(answers), evidence=evidence)


def row(qid: str, answer: str = "", refused: bool = False, citations: list[dict[str, Any]] = (),
        retrieved: list[dict[str, Any]] = (), ranked: list[str] = (), latency: float = 10.0) -> dict:
    return {"id": qid, "answer": answer, "refused": refused, "citations": list(citations),
            "retrieved": list(retrieved), "ranked_sources": list(ranked), "latency_ms": latency}


def citation(n: int, source: str, start: int, end: int, quote: str) -> dict[str, Any]:
    return {"n": n, "doc_id": f"id-{source}", "title": "t", "source": source, "date": None,
            "start": start, "end": end, "quote": quote, "score": 0.5}


def passage(source: str, start: int, end: int, text: str) -> dict[str, Any]:
    return {"source": source, "doc_id": f"id-{source}", "start": start, "end": end, "score": 1.0,
            "text": text}


def test_metric_names_are_the_specs() -> None:
    assert list(METRIC_NAMES) == SPEC_METRICS
    assert list(compute_metrics([question("q", ("x",), (Evidence("a.txt"),))],
                                {"q": row("q", ranked=["a.txt"])})) == SPEC_METRICS


def test_short_answer_metrics_count_answerable_questions_that_gave_one() -> None:
    questions = [question("a", ("Lloyd Austin",)), question("b", ("two drones",)), question("c", ("x",)),
                 question("d", ("y",)), question("u")]
    rows = {
        "a": {**row("a", "Austin said so. [1]"), "short": {"text": "Lloyd  Austin.", "n": 1, "start": 0, "end": 14}},
        "b": {**row("b", "Two were shot down. [1]"), "short": {"text": "two", "n": 1, "start": 0, "end": 3}},
        "c": row("c", "No short answer here. [1]"),
        "d": {**row("d", refused=True), "short": {"text": "y", "n": 1, "start": 0, "end": 1}},
        "u": {**row("u", "An answer. [1]"), "short": {"text": "z", "n": 1, "start": 0, "end": 1}},
    }
    metrics = compute_metrics(questions, rows)
    # Over the four answerable questions; a refused answer's short answer does not count.
    assert metrics["short_answer_rate"] == 0.5
    assert metrics["short_answer_em"] == 0.5
    assert metrics["short_answer_f1"] == (1.0 + 2 * (1 * 0.5) / 1.5) / 2


def test_normalize_text() -> None:
    assert normalize_text("The U.S.-led  Coalition, an ally!") == "u s led coalition ally"
    assert normalize_text("Baghdad’s “airport”") == normalize_text("Baghdad's airport")


def test_answer_contains_matches_whole_normalized_words() -> None:
    answered = row("q", "It was Gen. Frank McKenzie, the chief [1].")
    assert contains_answer(answered, ["frank mckenzie"])
    assert contains_answer(answered, ["nobody", "The Frank McKenzie"])  # articles removed
    assert not contains_answer(answered, ["McKenzi"])  # part of a word
    assert not contains_answer(answered, ["1"])  # markers are not answer text
    assert not contains_answer(row("q", "Frank McKenzie [1]", refused=True), ["Frank McKenzie"])


def test_token_f1_by_hand() -> None:
    # pred {cat, sat, on, mat} vs gold {cat, sat}: P = 2/4, R = 2/2, F1 = 2/3.
    assert token_f1("The cat sat on a mat", "a cat sat") == pytest.approx(2 / 3)
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "") == 1.0
    assert token_f1("", "cat") == 0.0
    # "Soleimani" vs "Qassem Soleimani": P = 1, R = 1/2, F1 = 2/3; the better of the two golds.
    assert best_f1(row("q", "Soleimani [1]"), ["Qassem Soleimani", "Kirby"]) == pytest.approx(2 / 3)
    assert best_f1(row("q", "Soleimani [1]", refused=True), ["Soleimani"]) == 0.0


def test_answer_in_passages_matches_whole_normalized_words() -> None:
    passages = [passage("a.txt", 0, 30, "Bases were struck."),
                passage("b.txt", 0, 40, "It was Gen. Frank McKenzie, the chief.")]
    assert answer_in_passages(row("q", retrieved=passages), ["nobody", "The Frank McKenzie"])
    assert not answer_in_passages(row("q", retrieved=passages), ["McKenzi"])  # part of a word
    assert not answer_in_passages(row("q", retrieved=passages), [])
    assert not answer_in_passages(row("q"), ["Frank McKenzie"])  # nothing handed over
    # Whatever the answer says, refused or not: only the passages count.
    assert answer_in_passages(row("q", "No.", refused=True, retrieved=passages), ["bases"])


def test_answer_in_passages_is_over_answerable_questions() -> None:
    found = [passage("a.txt", 0, 20, "Three attacks.")]
    questions = [question("q1", ("three attacks",)), question("q2", ("three attacks",)),
                 question("u1")]
    rows = {"q1": row("q1", "Wrong.", retrieved=found),
            "q2": row("q2", retrieved=[passage("b.txt", 0, 5, "Other")]),
            "u1": row("u1", retrieved=found)}
    assert compute_metrics(questions, rows)["answer_in_passages"] == pytest.approx(1 / 2)


def breakdown_set() -> tuple[list[Question], dict[str, dict]]:
    """Eight questions, each outcome at least once (the expected one commented on each row)."""
    ev = (Evidence("a.txt"),)
    at_a = [passage("a.txt", 0, 30, "Kirby spoke on Wednesday.")]
    at_b = [passage("b.txt", 0, 30, "Kirby spoke on Wednesday.")]
    questions = [question(qid, ("Kirby",), ev) for qid in ("r1", "r2", "f1", "m1", "n1")]
    questions += [question("u1"), question("u2"), question("u3")]
    rows = {
        "r1": row("r1", "Kirby [1].", retrieved=at_a),  # right
        "r2": row("r2", "Kirby [1].", retrieved=at_b),  # right, evidence or not
        "f1": row("f1", "Kirby, perhaps.", refused=True, retrieved=at_a),  # false_refusal
        "m1": row("m1", "Someone [1].", retrieved=at_b),  # retrieval_miss (gold text, wrong doc)
        "n1": row("n1", "Someone [1].", retrieved=at_a),  # not_chosen
        "u1": row("u1", "No.", refused=True),  # refused_right
        "u2": row("u2", "Invented [1].", retrieved=at_a),  # answered_unanswerable
        "u3": row("u3", "Also invented."),  # answered_unanswerable
    }
    return questions, rows


def test_breakdown_puts_every_question_in_exactly_one_outcome() -> None:
    questions, rows = breakdown_set()
    breakdown = compute_breakdown(questions, rows)
    assert list(breakdown) == list(OUTCOMES)
    assert breakdown == {"right": 2, "false_refusal": 1, "retrieval_miss": 1, "not_chosen": 1,
                         "refused_right": 1, "answered_unanswerable": 2}
    assert sum(breakdown.values()) == len(questions)
    assert [outcome(q, rows[q.id]) for q in questions] == [
        "right", "right", "false_refusal", "retrieval_miss", "not_chosen",
        "refused_right", "answered_unanswerable", "answered_unanswerable",
    ]
    # Agrees with the metrics it splits.
    m = compute_metrics(questions, rows)
    assert breakdown["right"] / 5 == pytest.approx(m["answer_contains"])
    assert breakdown["false_refusal"] / 5 == pytest.approx(m["false_refusal_rate"])
    assert breakdown["refused_right"] / 3 == pytest.approx(m["refusal_accuracy"])


def test_breakdown_counts_only_questions_with_a_row() -> None:
    questions, rows = breakdown_set()
    del rows["r1"], rows["u1"]
    breakdown = compute_breakdown(questions, rows)
    assert breakdown["right"] == 1 and breakdown["refused_right"] == 0  # zeros are kept
    assert sum(breakdown.values()) == len(rows)
    assert compute_breakdown(questions, {}) == dict.fromkeys(OUTCOMES, 0)


def handed(*sources: str) -> list[dict[str, Any]]:
    return [{"source": s, "doc_id": s, "start": 0, "end": 1, "score": 1.0, "text": "x"} for s in sources]


def test_retrieval_hits_and_mrr_are_over_the_passages_handed_to_the_answerer() -> None:
    ev = (Evidence("a.txt"),)
    questions = [question("q1", ("x",), ev), question("q2", ("x",), ev),
                 question("q3", ("x",), ev), question("u1")]
    rows = {
        # handed: rank 1; the deeper ranking has it at 2
        "q1": row("q1", retrieved=handed("a.txt", "b.txt"), ranked=["b.txt", "a.txt"]),
        # handed: rank 3; the deeper ranking lacks it
        "q2": row("q2", retrieved=handed("b.txt", "c.txt", "a.txt"), ranked=["b.txt"] * 10),
        # handed: not there; the deeper ranking has it at 7
        "q3": row("q3", retrieved=handed("b.txt"), ranked=[*["b.txt"] * 6, "a.txt"]),
        "u1": row("u1", retrieved=handed("z.txt"), ranked=["z.txt"]),  # unanswerable: not counted
    }
    m = compute_metrics(questions, rows)
    assert m["retrieval_hit@1"] == pytest.approx(1 / 3)
    assert m["retrieval_hit@3"] == pytest.approx(2 / 3)
    assert m["retrieval_hit@5"] == pytest.approx(2 / 3)
    assert m["retrieval_hit@10"] == pytest.approx(2 / 3)
    assert m["retrieval_mrr"] == pytest.approx((1 + 1 / 3) / 3)
    assert m["report_hit@1"] == 0.0
    assert m["report_hit@3"] == pytest.approx(1 / 3)
    assert m["report_hit@10"] == pytest.approx(2 / 3)
    assert m["report_mrr"] == pytest.approx((1 / 2 + 1 / 7) / 3)


def test_citation_precision_and_recall() -> None:
    text = "Bases were struck in at least three separate attacks on Wednesday. No casualties."
    quoted = (Evidence("a.txt", "three separate attacks"),)
    questions = [question("q1", ("three",), quoted), question("q2", ("x",), quoted),
                 question("q3", ("x",), (Evidence("c.txt"),)), question("q4", ("x",), quoted)]
    rows = {
        "q1": row("q1", "Three attacks [1]. Elsewhere [2]. No casualties [3].", citations=[
            citation(1, "a.txt", 100, 166, "..."),  # in the passage holding the quote: correct
            citation(2, "b.txt", 0, 10, "..."),  # not an evidence document
            citation(3, "a.txt", 1000, 1012, "No casualties."),  # passage lacks the quote
        ], retrieved=[passage("a.txt", 100, 183, text), passage("a.txt", 1000, 1012, "No casualties.")]),
        "q2": row("q2", "Wrong [1].", citations=[citation(1, "b.txt", 0, 5, "Wrong")]),
        # Evidence without a quote: any citation of that document is correct.
        "q3": row("q3", "Right [1].", citations=[citation(1, "c.txt", 0, 5, "Right")]),
        "q4": row("q4", "I cannot answer that.", refused=True),
    }
    m = compute_metrics(questions, rows)
    assert m["citation_precision"] == pytest.approx(2 / 5)  # correct: q1 [1], q3 [1]
    assert m["citation_recall"] == pytest.approx(2 / 3)  # q1 and q3 of the 3 not refused
    assert m["false_refusal_rate"] == pytest.approx(1 / 4)


def test_citation_without_its_passage_is_checked_against_its_quote() -> None:
    questions = [question("q", ("x",), (Evidence("a.txt", "three attacks"),))]
    good = row("q", "x [1]", citations=[citation(1, "a.txt", 0, 20, "There were three attacks.")])
    assert compute_metrics(questions, {"q": good})["citation_precision"] == 1.0


def test_answer_sentences_are_the_answers_claims() -> None:
    """The eval scores the claims as `assistant.citations` reads them (tests/assistant/
    test_citations.py), leaving out pieces without a word."""
    answer = "Kirby spoke [1]. He said more [2][3] Trailing claim. Another one."
    assert answer_sentences(answer) == cited_sentences(answer)
    assert answer_sentences("Gen. Frank McKenzie said so. [1]") == [("Gen. Frank McKenzie said so.", [1])]
    assert answer_sentences("") == []
    assert answer_sentences("Kirby spoke [1]. . [2]") == [("Kirby spoke", [1])]  # a piece without a word is no sentence


def test_sentence_support_needs_80_percent_of_words_in_a_quote() -> None:
    quote = "Pentagon Press Secretary John Kirby said on Wednesday"
    assert sentence_is_supported("John Kirby said on Wednesday", [quote])  # 5 of 5
    assert sentence_is_supported("John Kirby said on Friday", [quote])  # 4 of 5 = 0.8
    assert not sentence_is_supported("John Kirby denied it Friday", [quote])  # 2 of 5
    assert not sentence_is_supported("John Kirby said on Wednesday", [])  # cites nothing


def test_groundedness_counts_sentences_of_non_refused_answers() -> None:
    questions = [question("q1", ("x",), (Evidence("a.txt"),)), question("u1"), question("u2")]
    rows = {
        "q1": row("q1", "The attacks are very much typical [1]. Invented claim [2].", citations=[
            citation(1, "a.txt", 0, 60, "Kirby said these attacks are “very much typical”"),
            citation(2, "a.txt", 0, 10, "other text"),
        ]),
        "u1": row("u1", "Made up and uncited.", refused=False),  # 1 unsupported sentence
        "u2": row("u2", "The reports do not say.", refused=True),  # not counted
    }
    m = compute_metrics(questions, rows)
    assert m["groundedness"] == pytest.approx(1 / 3)
    assert m["refusal_accuracy"] == pytest.approx(1 / 2)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == pytest.approx(25.0)
    assert percentile([40.0, 10.0, 30.0, 20.0], 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_latency_metrics() -> None:
    questions = [question("u1"), question("u2")]
    m = compute_metrics(questions, {"u1": row("u1", latency=100.0), "u2": row("u2", latency=200.0)})
    assert m["latency_p50_ms"] == pytest.approx(150.0)
    assert m["latency_p95_ms"] == pytest.approx(195.0)


def test_empty_denominators_are_none() -> None:
    only_unanswerable = compute_metrics([question("u1")], {"u1": row("u1", "No.", refused=True)})
    for name in SPEC_METRICS[:10] + ["false_refusal_rate"]:  # answerable-only metrics
        assert only_unanswerable[name] is None, name
    assert only_unanswerable["groundedness"] is None  # the only answer is a refusal
    assert only_unanswerable["refusal_accuracy"] == 1.0

    only_answerable = compute_metrics([question("q", ("x",), (Evidence("a.txt"),))],
                                      {"q": row("q", "No.", refused=True, ranked=["a.txt"])})
    assert only_answerable["refusal_accuracy"] is None
    assert only_answerable["citation_precision"] is None and only_answerable["citation_recall"] is None
    assert only_answerable["answer_contains"] == 0.0 and only_answerable["false_refusal_rate"] == 1.0
    assert compute_metrics([question("q", ("x",), (Evidence("a.txt"),))], {})["latency_p50_ms"] is None
