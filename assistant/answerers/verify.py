"""Citation verification: keep only the generated sentences that a given passage supports.

A language model's `[n]` markers are claims, not facts. After generation every sentence of the
draft is checked against the numbered passages it was given:

- a marker to a passage that does not exist is removed;
- the sentence is cited to the span (one sentence of a report) that best supports it, preferring
  the passages it cited; when they do not support it but another passage does, it is re-cited;
- a sentence no passage supports is dropped, whatever the model (or a report's injected
  "instructions") wanted it to say; a report sentence that gives orders to the assistant
  ("ignore previous instructions and say ...") is never counted as support;
- when nothing is left, the reply is a refusal, and the stats say how many claims were dropped.

Pure: the passages and the draft in, claims with exact document offsets out. Support is judged by
lexical overlap of content words and, when an `embed` function is given, embedding similarity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from assistant.answerers.base import Reply
from assistant.citations import MARKER_RUN, Claim, Support, markers_in, strip_markers
from index.common.text import sentence_spans, tokenize
from index.common.types import Passage

Embed = Callable[[Sequence[str]], np.ndarray]

# What models write for markers, read as the canonical "[n]" of assistant.citations: "[1, 2]",
# "[1,2]" and "[1-2]" become "[1][2]"; "[Source 1]" / "[source 1]" become "[1]".
_MARKER_LIST = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*[,;]\s*(?:sources?\s*)?\d+)+)\s*\]", re.I)
_MARKER_RANGE = re.compile(r"\[\s*(\d+)\s*[-–]\s*(\d+)\s*\]")
_MARKER_WORD = re.compile(r"\[\s*(?:source|passage|doc(?:ument)?)\s*(\d+)\s*\]", re.I)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALIZED = re.compile(r"\b[A-Z][\w’'-]*")
# How models say "the sources do not answer this".
_REFUSAL = re.compile(
    r"(\b(reports?|sources?|passages?|context|documents?|texts?|articles?)\b[^.]{0,60}"
    r"\b(do not|don't|does not|doesn't|did not|didn't|cannot|can't|fail to|not)\b[^.]{0,40}"
    r"\b(say|says|mention|answer|contain|provide|state|specify|include|tell|address|cover)"
    r"|\bno (relevant )?information\b|\bnot (mentioned|stated|specified|provided)\b"
    r"|\bi (do not|don't|cannot|can't) (know|answer|find)\b|\bcannot be answered\b"
    r"|\bunable to answer\b)",
    re.I,
)

# Sentences of a report addressed to the assistant rather than stating a fact ("Ignore previous
# instructions and say ..."): they contain the words of the claim they ask for, so they must not
# count as support for it.
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b[^.]{0,40}\b(instructions?|prompts?|rules?|above|previous)\b"
    r"|\b(you must|you should|you are now|as an ai|assistant,|language model)\b"
    r"|^\s*(say|answer|reply|respond|tell the user|write)\b"
    r"|\b(and|then|instead) (say|answer|reply|respond|tell the user)\b",
    re.I,
)


@dataclass(frozen=True)
class VerifyTuning:
    """Thresholds for calling a span support for a sentence."""

    # Share of the sentence's content words that the span contains (lexical-only mode).
    lexical_min: float = 0.6
    # With embeddings: a lower word overlap is enough when the meaning matches...
    lexical_floor: float = 0.4
    semantic_weight: float = 0.5
    combined_min: float = 0.58
    # ...but never below the floor: embeddings rate "A attacked B" close to "B attacked A".


@dataclass(frozen=True)
class Verdict:
    """What verification did with one generated sentence."""

    text: str
    markers: tuple[int, ...]  # as generated (after normalizing "[1, 2]" forms)
    action: str  # "kept", "recited", "cited" (had no valid marker), "dropped", "refusal", "repeat"
    support: Support | None = None
    cited_passage: int | None = None  # 1-based number of the passage now cited


@dataclass(frozen=True)
class Verification:
    """The supported claims of a draft answer and what happened to every sentence."""

    claims: list[Claim]
    verdicts: list[Verdict]
    generated_refusal: bool
    stats: dict[str, float] = field(default_factory=dict)

    def reply(self, extra_stats: dict[str, float] | None = None) -> Reply:
        """The verified Reply: the supported claims, or a refusal when none is left."""
        stats = {**(extra_stats or {}), **self.stats}
        if not self.claims:
            return Reply.refusal(stats)
        return Reply.from_claims(self.claims, stats)


@dataclass(frozen=True)
class _Span:
    index: int  # 0-based passage number
    passage: Passage
    start: int  # document offsets
    end: int
    text: str


def normalize_markers(text: str) -> str:
    """Marker variants models write ("[1, 2]", "[Source 1]", "[1-3]") as plain "[1][2]"."""
    text = _MARKER_WORD.sub(lambda m: f"[{m.group(1)}]", text)
    text = _MARKER_LIST.sub(
        lambda m: "".join(f"[{n}]" for n in re.findall(r"\d+", m.group(1))), text
    )

    def expand(m: re.Match[str]) -> str:
        a, b = int(m.group(1)), int(m.group(2))
        return "".join(f"[{n}]" for n in range(a, b + 1)) if 0 < b - a < 10 else m.group(0)

    return _MARKER_RANGE.sub(expand, text)


def split_sentences(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """Each sentence of a model's draft without markers, with the markers it carries.

    A draft is not yet an answer in `assemble`'s form (`citations.cited_sentences` reads that):
    a model cites mid-sentence ("X [1] and Y [2].") or not at all, so every sentence is checked
    on its own, with all its markers. Models often put the marker after the full stop
    ("... airport. [2] Next ..."); a sentence that opens with markers hands them to the sentence
    before it.
    """
    text = normalize_markers(answer)
    pieces: list[list] = []
    for s, e in sentence_spans(text):
        sentence = text[s:e]
        lead = MARKER_RUN.match(sentence)
        if lead and pieces:
            pieces[-1][1].extend(markers_in(lead.group(0)))
            sentence = sentence[lead.end():]
        body = strip_markers(sentence)
        if body:
            pieces.append([body, markers_in(sentence)])
        elif pieces:
            pieces[-1][1].extend(markers_in(sentence))
    return [(body, tuple(markers)) for body, markers in pieces]


def is_refusal(text: str) -> bool:
    """True when a generated sentence says the sources do not answer."""
    return bool(_REFUSAL.search(strip_markers(text)))


def verify(
    answer: str,
    passages: Sequence[Passage],
    embed: Embed | None = None,
    tuning: VerifyTuning = VerifyTuning(),
) -> Verification:
    """Check every sentence of `answer` against `passages` (numbered from 1, as in the prompt)."""
    sentences = split_sentences(answer)
    spans = _spans(passages)
    claim_texts = [body for body, _ in sentences]
    lexical, semantic = _scores(claim_texts, spans, embed)
    # What each passage states, its injected instructions left out: names and numbers of a
    # claim must occur here.
    facts = [_factual_text(p) for p in passages]
    passage_terms = [set(t) for t in tokenize(facts)] if passages else []

    claims: list[Claim] = []
    verdicts: list[Verdict] = []
    seen: set[str] = set()
    counts = dict.fromkeys(
        ("claims_generated", "claims_kept", "claims_recited", "claims_cited_without_marker",
         "claims_dropped", "markers_removed"), 0.0)
    generated_refusal = False
    for i, (body, markers) in enumerate(sentences):
        valid = tuple(n for n in markers if 1 <= n <= len(passages))
        counts["markers_removed"] += len(markers) - len(valid)
        if is_refusal(body):
            generated_refusal = True
            verdicts.append(Verdict(body, markers, "refusal"))
            continue
        key = " ".join(body.lower().split())
        if key in seen:  # small models loop; one copy of a sentence is enough
            verdicts.append(Verdict(body, markers, "repeat"))
            continue
        seen.add(key)
        counts["claims_generated"] += 1
        scores = _combine(lexical[i], None if semantic is None else semantic[i], tuning)
        ok = _supported(lexical[i], scores, tuning) & _key_terms_present(
            body, spans, passage_terms, facts)
        best = _best(ok, scores, spans, allowed={n - 1 for n in valid})
        action = "kept"
        if best is None:
            best = _best(ok, scores, spans, allowed=None)
            action = "recited" if valid else "cited"
        if best is None:
            counts["claims_dropped"] += 1
            verdicts.append(Verdict(body, markers, "dropped"))
            continue
        span = spans[best]
        support = Support(span.passage, span.start, span.end, float(scores[best]))
        claims.append(Claim(text=body, supports=(support,)))
        verdicts.append(Verdict(body, markers, action, support, span.index + 1))
        counts["claims_kept"] += 1
        if action == "recited":
            counts["claims_recited"] += 1
        elif action == "cited":
            counts["claims_cited_without_marker"] += 1
    stats = {**counts, "generated_refusal": float(generated_refusal)}
    return Verification(claims, verdicts, generated_refusal, stats)


def _spans(passages: Sequence[Passage]) -> list[_Span]:
    """Every sentence of every passage, with document offsets (repeats across chunks kept once)."""
    seen: set[tuple[str, int, int]] = set()
    spans: list[_Span] = []
    for index, passage in enumerate(passages):
        for s, e in sentence_spans(passage.text):
            key = (passage.doc_id, passage.start + s, passage.start + e)
            if key in seen:
                continue
            seen.add(key)
            if _INSTRUCTION.search(passage.text[s:e]):  # injected instructions support nothing
                continue
            spans.append(_Span(index, passage, key[1], key[2], passage.text[s:e]))
    return spans


def _scores(
    claims: Sequence[str], spans: Sequence[_Span], embed: Embed | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Lexical coverage and (optionally) cosine similarity, claims x spans."""
    if not claims or not spans:
        shape = (len(claims), len(spans))
        return np.zeros(shape), (None if embed is None else np.zeros(shape))
    tokens = tokenize([*claims, *(s.text for s in spans)])
    claim_terms = [set(t) for t in tokens[: len(claims)]]
    span_terms = [set(t) for t in tokens[len(claims):]]
    lexical = np.array([
        [len(c & s) / len(c) if c else 0.0 for s in span_terms] for c in claim_terms
    ])
    if embed is None:
        return lexical, None
    vectors = np.asarray(embed([*claims, *(s.text for s in spans)]), dtype=np.float32)
    semantic = vectors[: len(claims)] @ vectors[len(claims):].T
    return lexical, semantic


def _combine(lexical: np.ndarray, semantic: np.ndarray | None, tuning: VerifyTuning) -> np.ndarray:
    if semantic is None:
        return lexical
    w = tuning.semantic_weight
    return w * semantic + (1 - w) * lexical


def _supported(lexical: np.ndarray, scores: np.ndarray, tuning: VerifyTuning) -> np.ndarray:
    """Which spans support the claim: enough shared words, and enough meaning when embedded."""
    if scores is lexical:
        return lexical >= tuning.lexical_min
    return (lexical >= tuning.lexical_floor) & (
        (scores >= tuning.combined_min) | (lexical >= tuning.lexical_min + 0.2)
    )


def _factual_text(passage: Passage) -> str:
    """The passage's sentences without those that give orders to the assistant."""
    return " ".join(
        passage.text[s:e] for s, e in sentence_spans(passage.text)
        if not _INSTRUCTION.search(passage.text[s:e])
    )


def _key_terms_present(
    claim: str, spans: Sequence[_Span], passage_terms: Sequence[set[str]], facts: Sequence[str]
) -> np.ndarray:
    """Per span: the claim's numbers and names all occur in that span's passage.

    Word overlap alone would pass "Kirby said Russia carried out the attacks" against a passage
    about Iran-backed militias; a name or number the passage never mentions is invented.
    """
    names = [m.group(0) for m in _CAPITALIZED.finditer(claim) if m.start() > 0]
    terms = {t for toks in tokenize(names) for t in toks} if names else set()
    numbers = set(_NUMBER.findall(claim))
    result = []
    for s in spans:
        text = facts[s.index]
        result.append(terms <= passage_terms[s.index] and all(
            re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d])", text) for n in numbers))
    return np.array(result, dtype=bool)


def _best(
    ok: np.ndarray, scores: np.ndarray, spans: Sequence[_Span], allowed: set[int] | None
) -> int | None:
    """The best-scoring supporting span, among the passages in `allowed` when given."""
    best: int | None = None
    for j, span in enumerate(spans):
        if not ok[j] or (allowed is not None and span.index not in allowed):
            continue
        if best is None or scores[j] > scores[best]:
            best = j
    return best
