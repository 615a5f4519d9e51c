"""The chain (ingest, retrieve, ask, stream, delete, filters, answerer registry) over the fakes
of tests/fakes.py: the logic of `assistant.core` without the model or Chroma, in seconds."""

from __future__ import annotations

import pytest

from assistant import answerers
from assistant.answerers import make_answerer
from assistant.config import Settings
from assistant.models import Answer
from assistant.streaming import AnswerStream
from index.common.errors import ConfigError, InputError, NotFoundError
from tests.contract import assert_answer_contract
from tests.fakes import FakeEmbedder

pytestmark = pytest.mark.fast

QUESTION = "Who did the Pentagon blame for the attacks?"


def test_ingest_is_idempotent_and_counts_agree(fake_assistant) -> None:
    health = fake_assistant.health()
    assert health["documents"] == 1 and health["chunks"] >= 2
    again = fake_assistant.ingest([d.source for d in fake_assistant.documents()], progress=False)
    assert again.unchanged and not again.added
    assert fake_assistant.health() == health


def test_retrieve_gives_exact_slices_best_first(fake_assistant) -> None:
    passages = fake_assistant.retrieve(QUESTION, k=2)
    assert 1 <= len(passages) <= 2
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert fake_assistant.document_text(p.doc_id)[p.start:p.end] == p.text


def test_ask_keeps_the_answer_contract(fake_assistant) -> None:
    answer = fake_assistant.ask(QUESTION)
    assert not answer.refused
    assert_answer_contract(answer, fake_assistant.document_text)
    assert answer.stats["passages"] == len(answer.passages)
    assert set(answer.timings_ms) >= {"retrieve", "answer", "total"}


def test_stream_gives_deltas_then_the_same_answer(fake_assistant) -> None:
    stream = fake_assistant.ask_stream(QUESTION)
    assert isinstance(stream, AnswerStream)
    deltas = list(stream)
    answer = stream.result()
    assert isinstance(answer, Answer) and "".join(deltas) == answer.answer
    assert stream.result() is answer  # asking again gives the same object, nothing runs twice


def test_result_drains_a_stream_read_halfway() -> None:
    def events():
        yield "a"
        yield "b"
        yield 42

    stream = AnswerStream(events(), int)
    assert next(iter(stream)) == "a"
    assert stream.result() == 42


def test_filters_limit_the_reports_used(fake_assistant) -> None:
    (doc,) = fake_assistant.documents()
    assert fake_assistant.retrieve(QUESTION, doc_ids=["someone-else"]) == []
    assert {p.doc_id for p in fake_assistant.retrieve(QUESTION, doc_ids=[doc.doc_id])} == {doc.doc_id}
    refused = fake_assistant.ask(QUESTION, doc_ids=["someone-else"])
    assert refused.refused and refused.passages == []
    assert_answer_contract(refused)


def test_delete_removes_the_report_everywhere(fake_assistant) -> None:
    (doc,) = fake_assistant.documents()
    fake_assistant.delete(doc.doc_id)
    assert fake_assistant.health()["chunks"] == 0
    assert fake_assistant.index._keyword.search("Pentagon", 5) == []
    with pytest.raises(NotFoundError):
        fake_assistant.delete(doc.doc_id)


@pytest.mark.parametrize("kwargs, field", [
    ({"question": " "}, "question"),
    ({"question": QUESTION, "k": 0}, "k"),
    ({"question": QUESTION, "as_of": "2024-13-01"}, "as_of"),
    ({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}, "role"),
])
def test_bad_input_names_the_field(fake_assistant, kwargs, field) -> None:
    with pytest.raises(InputError, match=field):
        fake_assistant.ask(**kwargs)


def test_an_unknown_answerer_lists_the_known_ones(tmp_path) -> None:
    for name in ("gpt", "extractive:x", "ollama"):
        settings = Settings.load({"home": tmp_path, "llm": name}, environ={})
        with pytest.raises(ConfigError) as raised:
            make_answerer(settings, FakeEmbedder())
        for kind in answerers.kinds().values():
            assert kind.usage in str(raised.value)
    with pytest.raises(ConfigError, match="names no model"):
        make_answerer(Settings.load({"home": tmp_path, "llm": "openai: "}, environ={}), FakeEmbedder())


def test_the_registry_holds_the_built_in_answerers(tmp_path) -> None:
    assert set(answerers.kinds()) >= {"extractive", "llamacpp", "ollama", "openai"}
    settings = Settings.load({"home": tmp_path}, environ={})
    assert make_answerer(settings, FakeEmbedder()).name == "extractive"
