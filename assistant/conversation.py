"""Follow-up questions: turning "What does he expect?" into something retrieval can use."""

from __future__ import annotations

import re
from typing import Sequence

from assistant.models import Turn

# Words that point back into the conversation instead of naming what they are about.
_ANAPHORA = re.compile(
    r"\b(he|she|it|they|him|her|them|his|hers|its|their|theirs|this|that|these|those|"
    r"there|then|the same|the other|else|also|too|more)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")
SHORT_QUESTION_WORDS = 4


def is_follow_up(question: str) -> bool:
    """True when a question cannot be understood without the conversation before it."""
    return bool(_ANAPHORA.search(question)) or len(_WORD.findall(question)) <= SHORT_QUESTION_WORDS


def condense_without_llm(question: str, history: Sequence[Turn]) -> str:
    """The follow-up prefixed with the user's previous question, which names what it refers to.

    Without an LLM to rewrite the question, the previous question is the best available
    context: embedding and BM25 both reward the names it brings back.
    """
    if not is_follow_up(question):
        return question
    previous = [t.content for t in history if t.role == "user" and t.content.strip()]
    if not previous:
        return question
    return f"{previous[-1].strip()} {question.strip()}"
