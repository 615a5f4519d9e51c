"""Token budgeting: the passages handed to an LLM fit its context window with room to answer.

Counts use tiktoken's cl100k encoding through `llama_index.core.utils.get_tokenizer()`, which
reads llama-index's bundled tiktoken cache, so nothing is downloaded. A local model's own
tokenizer usually needs somewhat more tokens for the same text than cl100k, so the budget keeps
a safety margin rather than trusting the count to the last token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Sequence

from index.common.text import sentence_spans
from index.common.types import Passage

# Share of the context window the counted prompt may use: other tokenizers (Llama, SmolLM,
# Qwen) split English news text into more tokens than cl100k, and the rest of the window covers
# the difference (docs/evaluation.md: How it works).
SAFETY_RATIO = 0.85
# Chat templates wrap the prompt in role markers that the rendered text does not contain.
TEMPLATE_TOKENS = 32


def count_tokens(text: str) -> int:
    """The number of tiktoken (cl100k) tokens in `text`."""
    from llama_index.core.utils import get_tokenizer

    return len(get_tokenizer()(text))


@dataclass(frozen=True)
class Budget:
    """The passages that fit, the size of the prompt made from them, and what was cut."""

    passages: list[Passage]
    prompt_tokens: int
    available_tokens: int
    dropped: int  # lower-ranked passages left out entirely
    truncated: int  # passages shortened to their first sentences

    def stats(self) -> dict[str, float]:
        """Counts for `Reply.stats` (they end up in the Answer's `stats`)."""
        return {
            "prompt_tokens": float(self.prompt_tokens),
            "passages_used": float(len(self.passages)),
            "passages_dropped": float(self.dropped),
            "passages_truncated": float(self.truncated),
        }


def prompt_budget(context_tokens: int, answer_tokens: int) -> int:
    """Tokens the rendered prompt may take in a window of `context_tokens`, leaving room to answer."""
    return int(context_tokens * SAFETY_RATIO) - answer_tokens - TEMPLATE_TOKENS


def fit_passages(
    passages: Sequence[Passage],
    render: Callable[[Sequence[Passage]], str],
    context_tokens: int,
    answer_tokens: int,
    count: Callable[[str], int] = count_tokens,
) -> Budget:
    """The best-ranked passages (given best first) whose rendered prompt fits the window.

    Lowest-ranked passages are dropped first. When even the best passage alone does not fit, it
    is cut to as many leading sentences as fit, so the cut passage is still an exact slice of
    its report (`text == document_text[start:end]`) and citations into it stay exact. When the
    question and instructions alone overflow, no passage is used (the answerer then refuses).
    """
    available = prompt_budget(context_tokens, answer_tokens)
    kept = list(passages)
    dropped = 0
    while kept:
        prompt = render(kept)
        tokens = count(prompt)
        if tokens <= available:
            return Budget(kept, tokens, available, dropped, 0)
        if len(kept) == 1:
            break
        kept.pop()
        dropped += 1
    if kept:
        cut = _truncate_to_fit(kept[0], render, available, count)
        if cut is not None:
            return Budget([cut], count(render([cut])), available, dropped, 1)
        dropped += 1
    return Budget([], count(render([])), available, dropped, 0)


def truncate_passage(passage: Passage, sentences: int) -> Passage:
    """`passage` cut after its first `sentences` sentences, still a slice of the report."""
    spans = sentence_spans(passage.text)
    if sentences >= len(spans):
        return passage
    end = spans[sentences - 1][1] if sentences > 0 else 0
    return replace(passage, text=passage.text[:end], end=passage.start + end)


def _truncate_to_fit(
    passage: Passage,
    render: Callable[[Sequence[Passage]], str],
    available: int,
    count: Callable[[str], int],
) -> Passage | None:
    """The longest sentence prefix of `passage` whose prompt fits, found by bisection."""
    n = len(sentence_spans(passage.text))
    low, high, best = 1, n - 1, None
    while low <= high:
        mid = (low + high) // 2
        candidate = truncate_passage(passage, mid)
        if count(render([candidate])) <= available:
            best, low = candidate, mid + 1
        else:
            high = mid - 1
    return best
