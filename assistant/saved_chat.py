"""Asking into a saved conversation: its saved turns are the history a follow-up is condensed
with, and the answer is saved as its next turn (assistant/conversations.py). The one way the CLI,
the HTTP API and the UI do it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterator, Sequence

from assistant.core import Assistant
from assistant.models import Answer, Turn
from assistant.streaming import AnswerStream
from index import check_text

NEW = "new"


def ask_saved(
    assistant: Assistant,
    owner: str,
    conversation: str,
    question: str,
    history: Sequence[Turn | dict[str, Any]] | None = None,
    **options: Any,
) -> AnswerStream[Answer]:
    """The answer's text deltas, then the Answer with its `conversation` and `turn`, saved once
    whole. `conversation` is an id of `owner`'s (NotFoundError otherwise, before anything runs)
    or "new" (created when the answer is saved, so a failed question leaves no empty one);
    `history`, when given, is used instead of the saved turns. `options` are `ask`'s."""
    check_text(question, "question")
    saved = assistant.conversations
    known = None if conversation == NEW else saved.summary(owner, conversation).id
    if history is None and known is not None:
        history = saved.history(owner, known)
    inner = assistant.ask_stream(question, history, **options)

    def events() -> Iterator[str | Answer]:
        yield from inner
        answer = inner.result()
        into = known if known is not None else saved.create(owner)
        turn = saved.save_turn(owner, into, question, answer.standalone or question, answer.to_dict())
        yield replace(answer, conversation=into, turn=turn)

    return AnswerStream(events(), Answer)
