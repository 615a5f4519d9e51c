"""The extractive answerer: question types and answer kinds, sentence choice, refusals."""

from __future__ import annotations

import pytest

from assistant.answerers.extractive import (
    ANSWERABLE_WEIGHTS,
    FEATURE_NAMES,
    ExtractiveAnswerer,
    ExtractiveTuning,
    _candidates,
    _has_answer,
    _lower_words,
    answerability_features,
    answerable_probability,
    question_type,
)
from assistant.answerers.spans import answer_kind, answer_spans, question_words, span_strength
from index.common.types import Passage, Retrieved
from index.query import Query
from tests.conftest import MODEL_CACHE


@pytest.mark.parametrize("question, kind", [
    ("Who did the Pentagon blame?", "name"),
    ("Which company agreed to buy Unity Foods?", "name"),
    ("When did the attacks start?", "date"),
    ("In what year was the base built?", "date"),
    ("Where did the drone strike happen?", "place"),
    ("Which city hosted the summit?", "place"),
    ("How many people were injured?", "number"),
    ("How much did the deal cost?", "number"),
    ("What struck the bases?", None),
])
def test_question_type(question: str, kind: str | None) -> None:
    assert question_type(question) == kind


@pytest.mark.parametrize("question, kind", [
    ("The mayor was re-elected president of which European country?", "country"),
    ("The senator represents which U.S. state?", "state"),
    ("Which singer thanked her fans?", "person"),
    ("By what percent did sales fall?", "percent"),
    ("Which company opened the plant?", "name"),
    ("How many people were injured?", "number"),
    ("What struck the bases?", None),
])
def test_answer_kind(question: str, kind: str | None) -> None:
    assert answer_kind(question, question_type(question)) == kind


def test_an_answer_of_the_kind_must_not_be_in_the_question() -> None:
    q = "How many people did the 3 fires injure?"
    words = question_words(q)

    def strength(sentence: str, question: str = q) -> float:
        kind = answer_kind(question, question_type(question))
        return max((span_strength(s, kind, question_words(question)) for s in answer_spans(sentence)),
                   default=0.0)

    assert strength("The fires injured 12 people.") == 1.0
    assert strength("The fires injured twelve people.") == 1.0
    assert strength("The 3 fires injured people.") == 0.0
    assert strength("In 2020 the fires injured people.") == 0.0  # a year, not a count
    assert "3" in words
    country = "Elena Varga was re-elected president of which country?"
    assert strength("Voters in Portugal re-elected Varga.", country) == 1.0
    assert strength("Varga thanked Brussels.", country) == 0.5  # a name, not a country
    assert strength("Varga was re-elected.", country) == 0.0


def _report(doc_id: str, text: str, title: str = "") -> Passage:
    return Passage(doc_id=doc_id, title=title, source=f"{doc_id}.txt", date=None,
                   chunk_id=f"{doc_id}-0", start=0, end=len(text), text=text, score=1.0)


QUIZ = "Skater Lena Moretti fell during the final this week. She skates for which country?"
REPORTS = [
    _report("a", "Lena Moretti fell during the final this week, organisers said. "
                 "Moretti, who skates for Norway, fell during the final on Tuesday."),
    _report("b", "The final was stopped for ten minutes after the fall. "
                 "Norway's team doctor said Moretti was awake and talking."),
]


def test_answers_a_quiz_question_with_the_sentence_naming_the_answer_first(answerer) -> None:
    reply = answerer.answer(Query.plain(QUIZ), Retrieved(REPORTS))
    assert not reply.refused
    assert "Norway" in reply.answer.split("[1]")[0]


@pytest.mark.parametrize("margin, most", [(0.0, 1), (1.0, 3)])
def test_further_sentences_only_within_the_margin(margin: float, most: int) -> None:
    from dataclasses import replace

    from index.embedding import shared_embedder

    tuning = replace(ExtractiveTuning(), further_margin=margin)
    reply = ExtractiveAnswerer(shared_embedder(cache=MODEL_CACHE), tuning).answer(Query.plain(QUIZ), Retrieved(REPORTS))
    assert not reply.refused
    # Every further sentence is still relevant enough to answer alone, so a wide margin need
    # not fill all `max_sentences`.
    assert 1 <= len(reply.citations) <= most <= tuning.max_sentences
    if margin:
        assert len(reply.citations) > 1


def test_answer_of_the_type_must_not_be_in_the_question() -> None:
    q = "How many people did the 3 fires injure?"
    words = _lower_words(q)
    assert _has_answer("The fires injured 12 people.", "number", words)
    assert _has_answer("The fires injured twelve people.", "number", words)
    assert not _has_answer("The 3 fires injured people.", "number", words)
    assert not _has_answer("In 2020 the fires injured people.", "number", words)  # a year, not a count
    who = "Who did the Pentagon blame?"
    assert _has_answer("The Pentagon blamed Iran.", "name", _lower_words(who))
    assert not _has_answer("The Pentagon blamed them.", "name", _lower_words(who))
    assert _has_answer("It happened in 2021.", "date", _lower_words("When did it happen?"))
    assert _has_answer("It happened on Monday.", "date", _lower_words("When did it happen?"))


def test_answerability_model_shape() -> None:
    assert len(ANSWERABLE_WEIGHTS) == len(FEATURE_NAMES)
    strong = answerability_features("Who did the Pentagon blame?", "name", 0.7, True,
                                    "The Pentagon blamed Iran.", "The Pentagon blamed Iran.", 0.1)
    weak = answerability_features("Who did the Pentagon not blame?", "name", 0.3, False,
                                  "The Pentagon blamed them.", "The Pentagon blamed them.", 0.0)
    assert len(strong) == len(FEATURE_NAMES)
    assert answerable_probability(strong) > answerable_probability(weak)


TEXT = ("Fire chief Nadia Okafor said the blaze started in the kitchen. "
        "The fire at the Mill Lane warehouse injured 31 people on Monday. "
        "Residents near the warehouse were told to keep their windows closed.")


def _passage(text: str = TEXT) -> Passage:
    return Passage(doc_id="d1", title="Warehouse fire", source="fire.txt", date="2024-05-13",
                   chunk_id="d1-0", start=0, end=len(text), text=text, score=1.0)


@pytest.fixture(scope="module")
def answerer() -> ExtractiveAnswerer:
    from index.embedding import shared_embedder

    return ExtractiveAnswerer(shared_embedder(cache=MODEL_CACHE))


def test_prefers_the_sentence_with_an_answer_of_the_question_type(answerer) -> None:
    reply = answerer.answer(Query.plain("How many people were injured in the Mill Lane warehouse fire?"), Retrieved([_passage()]))
    assert not reply.refused and "31" in reply.answer
    assert reply.answer.count("[") == 1  # one sentence when it clearly holds the answer
    who = answerer.answer(Query.plain("Who said the Mill Lane warehouse blaze started in the kitchen?"), Retrieved([_passage()]))
    assert not who.refused and "Nadia Okafor" in who.answer


def test_refuses_an_unrelated_question(answerer) -> None:
    reply = answerer.answer(Query.plain("What is the capital of Australia?"), Retrieved([_passage()]))
    assert reply.refused


class _CountingEmbedder:
    """The real embedder, counting the texts it is asked to embed (not a stand-in)."""

    def __init__(self, inner) -> None:
        self.inner, self.texts = inner, 0

    def embed_query(self, text: str):
        return self.inner.embed_query(text)

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def test_stored_passage_vectors_and_sentence_pool(sample_assistant) -> None:
    """With the store's vectors the answerer embeds no passage, and at most `sentence_pool`
    sentences, yet answers as when it embeds everything."""
    from dataclasses import replace

    question = "Who did the Pentagon blame for the attacks?"
    query = sample_assistant.query(question)
    found = sample_assistant.index.gather(query, 5)
    assert set(found.vectors) == {p.chunk_id for p in found.passages}
    counting = _CountingEmbedder(sample_assistant.index.embedder)
    tuning = ExtractiveTuning()
    reply = ExtractiveAnswerer(counting, tuning).answer(query, found)
    assert counting.texts <= tuning.sentence_pool < len(_candidates(found))
    everything = ExtractiveAnswerer(sample_assistant.index.embedder,
                                    replace(tuning, sentence_pool=10_000))
    assert not reply.refused
    assert reply.answer == everything.answer(query, Retrieved(found.passages, found.headlines)).answer


def test_a_headline_that_answers_is_cited(assistant, tmp_path) -> None:
    """The answer is only in the report's headline, which no retrieved passage quotes as a
    sentence: the answerer offers the headline, cited at its offsets, and answers with it."""
    from tests.contract import assert_answer_contract

    report = tmp_path / "acme.txt"
    report.write_text(
        "Acme Robotics names Priya Natarajan as chief executive\n\n"
        + "The robotics maker said on Monday that its board had chosen a new leader after a "
          "six-month search. The company, based in Ohio, builds warehouse robots and employs "
          "about 900 people. Its shares rose 4% on the news. " * 3
        + "\n\nThe previous chief stepped down in March after a dispute with investors over "
          "the pace of hiring. Analysts said the board wanted an engineer at the top. " * 4,
        encoding="utf-8",
    )
    assistant.ingest([report], progress=False)
    question = "Who did Acme Robotics choose as its new chief executive?"
    answer = assistant.ask(question)
    data = assert_answer_contract(answer, assistant.index._store.document_text)
    assert "Priya Natarajan" in answer.answer
    headline = next(c for c in data["citations"] if "Priya Natarajan" in c["quote"])
    assert (headline["start"], headline["quote"]) == (0, "Acme Robotics names Priya Natarajan as chief executive")
    without = ExtractiveAnswerer(assistant.index.embedder).answer(assistant.query(question), Retrieved(answer.passages))
    assert "Priya Natarajan" not in without.answer


@pytest.mark.parametrize("reader", ["on", "off"])
def test_a_restated_question_is_never_chosen(reader: str) -> None:
    """A digest that printed the quiz holds the question word for word: never an answer."""
    from assistant.answerers.extractive import make
    from assistant.config import Settings
    from index.embedding import shared_embedder

    question = "Which major change will soon be introduced to Netflix?"
    text = ("Which major change will soon be introduced to Netflix? Take the quiz. "
            "Netflix said on Tuesday it will end password sharing outside a household from "
            "next month, a major change for its subscribers.")
    passage = Passage(doc_id="digest", title="News quiz", source="quiz.txt", date=None,
                      chunk_id="digest-0", start=0, end=len(text), text=text, score=1.0)
    answerer = make("", Settings.load({"reader": reader}, environ={}), shared_embedder(cache=MODEL_CACHE))
    reply = answerer.answer(Query.plain(question), Retrieved([passage]))
    assert not reply.refused
    assert "password sharing" in reply.answer
    assert all(c.quote != question for c in reply.citations)


@pytest.mark.fast
def test_a_readers_fitted_settings_are_read_with_their_types_and_unknown_ones_refused() -> None:
    from assistant.answerers.extractive import reader_tuning
    from index.common.errors import ConfigError

    tuning = reader_tuning({"reader_weight": 2, "reader_term": "choice", "max_sentences": 2.0,
                            "short_min_probability": "0.4"})
    assert (tuning.reader_weight, tuning.reader_term, tuning.max_sentences, tuning.short_min_probability) == (
        2.0, "choice", 2, 0.4)
    assert reader_tuning({}) == ExtractiveTuning()
    with pytest.raises(ConfigError, match="reader.json: answerer settings reader_wieght"):
        reader_tuning({"reader_wieght": 1.0})


def test_the_short_answer_is_the_surest_span_of_the_sentences_shown() -> None:
    import numpy as np

    from assistant.answerers.extractive import _Read
    from index import Short, shared_embedder

    text = "Officials met on Tuesday to discuss the outage. The outage was caused by a storm in Ohio."
    passage = _report("a", text)
    first, second = text.index("The outage"), len(text)
    candidates = _candidates(Retrieved((passage,)))
    assert [c.text for c in candidates] == [text[:first - 1], text[first:second]]
    storm = text.index("a storm") - first
    reading = _Read(np.zeros(2), np.zeros(2), [Short(0, 9, 0.3), Short(storm, storm + 7, 0.9)])
    tuning = ExtractiveTuning(short_min_probability=0.6)
    answerer = ExtractiveAnswerer(shared_embedder(cache=MODEL_CACHE), tuning)
    stats: dict[str, float] = {}
    short = answerer._short(candidates, [0, 1], reading, stats)
    assert short is not None and short.quote == "a storm"
    assert stats["p_short"] == 0.9
    # Only the sentences shown count, and only from the floor up.
    assert answerer._short(candidates, [0], reading, {}) is None
