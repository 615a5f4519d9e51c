"""The answerer interface: passages and a question in, a cited reply out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import prompts
from assistant.citations import Claim, Support, assemble, cite_short
from assistant.config import Settings
from assistant.models import Citation, Short, Turn
from assistant.streaming import AnswerStream
from index import Embedder, Query
from index.common.types import Retrieved


@dataclass(frozen=True)
class Reply:
    """What an answerer produces: the interface's answer, refusal flag and citations."""

    answer: str
    refused: bool
    citations: list[Citation]
    stats: dict[str, float] = field(default_factory=dict)  # scores, probabilities, token counts
    timings: dict[str, float] = field(default_factory=dict)  # the answerer's own times, in ms
    short: Short | None = None

    @classmethod
    def from_claims(cls, claims: list[Claim], stats: dict[str, float] | None = None,
                    short: Support | None = None) -> "Reply":
        """A reply made of supported claims, or a refusal when there are none; `short`, the
        answer in a few words, must lie inside one of the claims' supports."""
        if not claims:
            return cls.refusal(stats)
        text, citations = assemble(claims)
        return cls(answer=text, refused=False, citations=citations, stats=dict(stats or {}),
                   short=cite_short(citations, short) if short is not None else None)

    @classmethod
    def refusal(cls, stats: dict[str, float] | None = None) -> "Reply":
        """The plain statement that the reports do not support an answer."""
        return cls(answer=refusal_text(), refused=True, citations=[], stats=dict(stats or {}))


def refusal_text() -> str:
    """The refusal sentence, from `prompts/refusal.txt`."""
    return prompts.render("refusal")


class Answerer(ABC):
    """Answers a question from retrieved passages; every claim must cite one of them. Passages
    in, reply out: an answerer never goes back to the index."""

    name: str = "answerer"
    # True for an answerer that writes its own sentences (a language model), which are checked
    # against the passages; False for one that cites report sentences as they are.
    generative: bool = False

    @abstractmethod
    def answer(self, question: Query, found: Retrieved) -> Reply:
        """The reply to `question` supported by the passages `found`."""

    def stream(self, question: Query, found: Retrieved) -> AnswerStream[Reply]:
        """Text deltas, then the final Reply. Answerers that generate token by token override this.

        The conversation reaches an answerer only through `condense`: the question it answers
        already stands alone.
        """
        return AnswerStream(self._whole(question, found), Reply)

    def _whole(self, question: Query, found: Retrieved) -> Iterator[str | Reply]:
        reply = self.answer(question, found)
        yield reply.answer
        yield reply

    def condense(self, question: str, history: Sequence[Turn]) -> str:
        """A standalone version of a follow-up question, for retrieval; with no history, the
        question as it is (every answerer keeps this: the eval relies on it)."""
        from assistant.conversation import condense_without_llm

        return condense_without_llm(question, history)


@dataclass(frozen=True)
class AnswererKind:
    """A kind of answerer as registered under the entry-point group
    `report_assistant.answerers` (pyproject.toml): how it is named in `ASSISTANT_LLM`
    (`KIND` or `KIND:TARGET`) and its factory, `make(target, settings, embedder)`."""

    usage: str  # e.g. "ollama:MODEL"
    needs_target: bool
    make: Callable[[str, Settings, Embedder], Answerer]
