"""The `[n]` marker grammar and its round trip: what `assemble` writes, `cited_sentences` reads
back claim by claim (the split the evaluation scores)."""

from __future__ import annotations

import pytest

from assistant.citations import (
    MARKER,
    MARKER_RUN,
    Claim,
    Support,
    assemble,
    cite_short,
    cited_sentences,
    markers_in,
    strip_markers,
)
from index.common.types import Passage

pytestmark = pytest.mark.fast

REPORT = ("Oxygen bars opened in Japan. They offer higher than normal O\n"
          "Storm hits coast\n"
          "Gen. Frank McKenzie said so. Officials counted 40 damaged homes.")


def support(quote: str) -> Support:
    start = REPORT.index(quote)
    passage = Passage("d1", "Title", "d1.txt", None, "d1:0", 0, len(REPORT), REPORT, 1.0)
    return Support(passage, start, start + len(quote), 1.0)


def test_the_grammar_is_plain_numbers_in_brackets() -> None:
    assert markers_in("a [1] b [2][10] c [x] [update] [1, 2]") == [1, 2, 10]
    assert MARKER.fullmatch("[3]") and not MARKER.fullmatch("[Source 3]")
    assert MARKER_RUN.match(" [1] [2]x").group(0) == " [1] [2]"
    assert strip_markers("Prices rose [1][2]. Traders [3] blamed it. [4]") == "Prices rose. Traders blamed it."


def test_cited_sentences_read_back_the_claims_assemble_wrote() -> None:
    claims = [
        # two sentences of a report cited together stay one claim
        Claim("Oxygen bars opened in Japan. They offer higher than normal O",
              (support("Oxygen bars opened in Japan. They offer higher than normal O"),)),
        # a headline has no full stop: its markers end it
        Claim("Storm hits coast", (support("Storm hits coast"),)),
        Claim("Gen. Frank McKenzie said so.", (support("Gen. Frank McKenzie said so."),
                                               support("Officials counted 40 damaged homes."))),
        Claim("Storm hits coast [7]", (support("Storm hits coast"),)),
    ]
    answer, _ = assemble(claims)
    assert cited_sentences(answer) == [
        ("Oxygen bars opened in Japan. They offer higher than normal O", [1]),
        ("Storm hits coast", [2]),
        ("Gen. Frank McKenzie said so.", [3, 4]),
        ("Storm hits coast", [2]),
    ]


def test_cited_sentences_of_text_around_markers() -> None:
    answer = "Kirby spoke [1]. He said more [2][3] Trailing claim. Another one."
    assert cited_sentences(answer) == [
        ("Kirby spoke", [1]), ("He said more", [2, 3]),
        ("Trailing claim.", []), ("Another one.", []),
    ]
    assert cited_sentences("[1] . [2]") == [(".", [2])]
    assert cited_sentences("") == []


def test_a_short_answer_takes_the_number_of_the_citation_quoting_it() -> None:
    claims = [Claim("Storm hits coast", (support("Storm hits coast"),)),
              Claim("Gen. Frank McKenzie said so.", (support("Gen. Frank McKenzie said so."),))]
    _, citations = assemble(claims)
    inside = support("Frank McKenzie")
    short = cite_short(citations, inside)
    assert short is not None and (short.text, short.n) == ("Frank McKenzie", 2)
    assert REPORT[short.start:short.end] == short.text
    # Outside every cited quote: no short answer.
    assert cite_short(citations, support("Oxygen bars")) is None
