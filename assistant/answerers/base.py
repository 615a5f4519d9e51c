"""The answerer interface: passages and a question in, a cited reply out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Iterator, Sequence

import prompts
from assistant.citations import Claim, assemble
from assistant.models import Citation, Turn
from assistant.streaming import AnswerStream
from index.common.types import Passage
from index.query import Query


@dataclass(frozen=True)
class Reply:
    """What an answerer produces: the SPEC's answer, refusal flag and citations."""

    answer: str
    refused: bool
    citations: list[Citation]
    stats: dict[str, float] = field(default_factory=dict)  # scores, probabilities, token counts
    timings: dict[str, float] = field(default_factory=dict)  # the answerer's own times, in ms

    @classmethod
    def from_claims(cls, claims: list[Claim], stats: dict[str, float] | None = None) -> "Reply":
        """A reply made of supported claims, or a refusal when there are none."""
        if not claims:
            return cls.refusal(stats)
        text, citations = assemble(claims)
        return cls(answer=text, refused=False, citations=citations, stats=dict(stats or {}))

    @classmethod
    def refusal(cls, stats: dict[str, float] | None = None) -> "Reply":
        """The plain statement that the reports do not support an answer."""
        return cls(answer=refusal_text(), refused=True, citations=[], stats=dict(stats or {}))


def refusal_text() -> str:
    """The refusal sentence, from `prompts/refusal.txt`."""
    return prompts.render("refusal", topic="")


class Answerer(ABC):
    """Answers a question from retrieved passages; every claim must cite one of them."""

    name: str = "answerer"

    @abstractmethod
    def answer(self, question: Query, passages: Sequence[Passage]) -> Reply:
        """The reply to `question` supported by `passages`."""

    def stream(self, question: Query, passages: Sequence[Passage]) -> AnswerStream[Reply]:
        """Text deltas, then the final Reply. Answerers that generate token by token override this.

        The conversation reaches an answerer only through `condense`: the question it answers
        already stands alone.
        """
        return AnswerStream(self._whole(question, passages), Reply)

    def _whole(self, question: Query, passages: Sequence[Passage]) -> Iterator[str | Reply]:
        reply = self.answer(question, passages)
        yield reply.answer
        yield reply

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone version of a follow-up question, for retrieval."""
        from assistant.conversation import condense_without_llm

        return condense_without_llm(question, history)
