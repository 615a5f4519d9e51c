"""A report's sentences as answers, timelines and summaries cite them (spans of its exact text,
without the dateline a news report opens with: "HALFORD, March 4, 2024 (Daily Ledger) - "), and
how many of a question's words each holds."""

from __future__ import annotations

import math
import re
from typing import Sequence

from index.common.text import sentence_spans, tokenize

# A news dateline opening a sentence: "HALFORD, March 4, 2024 (Daily Ledger) - ".
DATELINE = re.compile(
    r"[A-Z][A-Z .'’-]{1,40}(?:,[A-Za-z .]{0,30})?,\s+[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s+\d{4}"
    r"(?:\s*\([^)]{1,60}\))?\s*[-–—:]+\s*"
)


def after_dateline(text: str, start: int, end: int) -> int:
    """Where the sentence `text[start:end]` begins once a dateline in front of it is left out
    (`start` when it has none)."""
    dateline = DATELINE.match(text, start, end)
    return dateline.end() if dateline else start

# A statement ends with its mark, perhaps inside a quotation or a bracket (a question is none).
_ENDS_STATEMENT = re.compile(r"[.!][\"”’')\]]*$")
# Lines around a story that are not of it: links ("Read more:", "TRAGIC MOMENT:Damar ..."),
# credits, calls to subscribe.
_BOILERPLATE = re.compile(r"^(?:(?:read more|related|see also|previously|click|sign up|subscribe|follow|"
                          r"watch|listen|photo|image|copyright|©|advertisement)\b|[\w'’ ]{1,40}:(?=\S))",
                          re.IGNORECASE)
# A title or a month before a name or a day ("Florida Gov." | "DeSantis"), where the sentence
# splitter cut: not the end of a statement.
_CUT_AFTER = re.compile(r"\b(?:Gov|Sen|Rep|Reps|Sens|Dr|Mr|Mrs|Ms|St|Gen|Lt|Col|Sgt|Capt|Cmdr|Adm|Prof|Rev|Hon|Pres|"
                        r"Jan|Feb|Aug|Sept|Sep|Oct|Nov|Dec)\.$")
_WORDS = re.compile(r"\S+")


def reads_as_sentence(sentence: str, min_words: int) -> bool:
    """A statement of the story: `min_words` or more, ending as a statement does (not a
    question, not cut after "Gov."), not a link, a credit or a call to subscribe."""
    return (len(_WORDS.findall(sentence)) >= min_words and bool(_ENDS_STATEMENT.search(sentence))
            and not _BOILERPLATE.match(sentence) and not _CUT_AFTER.search(sentence))


def report_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """`(start, end)` of each sentence of `text[start:end]` without a dateline in front;
    sentences left empty by it are dropped."""
    spans = []
    for s, e in sentence_spans(text, start, end):
        s = after_dateline(text, s, e)
        if e > s:
            spans.append((s, e))
    return spans


def lexical_overlap(question: str, sentences: Sequence[str]) -> list[float]:
    """Share of the question's content words in each sentence, rarer words weighing more."""
    tokenized = tokenize([question, *sentences])
    q_terms = set(tokenized[0])
    if not q_terms:
        return [0.0] * len(sentences)
    docs = [set(t) for t in tokenized[1:]]
    n = len(docs)
    weight = {t: math.log(1 + (n + 1) / (1 + sum(t in d for d in docs))) for t in q_terms}
    total = sum(weight.values())
    return [sum(weight[t] for t in q_terms if t in d) / total for d in docs]
