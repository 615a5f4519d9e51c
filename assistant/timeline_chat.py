"""Questions that ask for a course of events ("What happened with X since May?", "Timeline of
X"), which the chat answers with the timeline of their topic: recognising them, the time span
they name, and the timeline written as an answer.

Only explicit forms count: a timeline word, or "what happened" with a span of time ("since",
"over the past", "between"). "What happened to X on Monday?" asks for one fact and is answered
as any question is.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from assistant.answerers.base import refusal_text
from assistant.citations import assemble
from assistant.models import Answer
from assistant.timeline import Timeline
from index import Query
from index.common.dates import parse_day, to_date

_SPAN = (r"(?:since|between|from|over|during|throughout|in the (?:last|past)|"
         r"(?:this|last|past) (?:week|month|year)|so far)")
_FORMS = [re.compile(p, re.IGNORECASE) for p in (
    # "Timeline of X", "Give me a timeline for X", "Chronology of X"
    r"^(?:(?:please )?(?:give|show|make|build|draw|write) (?:me )?)?(?:a |the )?(?:timeline|chronology)"
    r"(?: of events)?(?: (?:of|for|on|about|regarding))?:? (?P<topic>.+)$",
    # "X timeline", "X: a timeline"
    r"^(?P<topic>.+?):? (?:a |the )?(?:timeline|chronology)$",
    # "What (has) happened with X since May?", "What happened to X over the past week?"
    rf"^what(?:'s| has| have)? (?:has )?(?:been )?happen(?:ed|ing) (?:with|to|in|on|at|about|regarding) "
    rf"(?P<topic>.+?)\s+{_SPAN}\b.*$",
    # "What is new with X since Monday?", "What's new on X?"
    r"^what(?:'s| is) new (?:with|on|about|in|for|regarding) (?P<topic>.+?)(?:\s+since\b.*)?$",
    # "How did X unfold?", "How has X developed since June?"
    r"^how (?:did|has|have) (?P<topic>.+?) (?:unfold|unfolded|develop|developed|evolve|evolved|progress|"
    r"progressed)\b.*$",
    # "What are the latest developments in X?"
    r"^what (?:are|were) the (?:latest |main |key )?(?:developments|events|updates) (?:in|on|with|about|of) "
    r"(?P<topic>.+?)(?:\s+{_SPAN}\b.*)?$".replace("{_SPAN}", _SPAN),
)]
_END = re.compile(r"[\s?.!]+$")


def timeline_topic(question: str) -> str | None:
    """The topic of a question that asks for a course of events, else None."""
    text = _END.sub("", " ".join(question.split()))
    for form in _FORMS:
        match = form.match(text)
        if match:
            topic = match["topic"].strip(" ,;:")
            return topic if re.search(r"\w", topic) else None
    return None


def span_filters(question: str, as_of: str | None, filters: Mapping[str, Any]) -> dict[str, Any]:
    """`filters` with the dates narrowed to the time span the question names ("since May":
    from May 1 to `as_of`), read as retrieval reads it (index/timeframe.py)."""
    day = to_date(as_of, "as_of") if as_of not in (None, "") else None
    frame = Query.build(question, lambda _: None, as_of=day)  # the time phrase only: nothing embedded
    given_from = parse_day(filters.get("date_from"), "date_from")
    given_to = parse_day(filters.get("date_to"), "date_to")
    starts = [d for d in (given_from, frame.window_start and frame.window_start.isoformat()) if d]
    ends = [d for d in (given_to, frame.window_end and frame.window_end.isoformat()) if d]
    return {**filters, "date_from": max(starts, default=None), "date_to": min(ends, default=None)}


def timeline_answer(timeline: Timeline) -> Answer:
    """The timeline as the chat's answer: one line an event, its date, then its sentence and
    marker, oldest first; the plain refusal when it has no events."""
    if not timeline.events:
        return Answer(answer=refusal_text(), refused=True,
                      stats={"timeline_events": 0.0, "undated": float(timeline.undated)})
    text, citations = assemble(timeline.claims(dated=True), separator="\n")
    passages = list({e.passage.chunk_id: e.passage for e in timeline.events}.values())
    return Answer(answer=text, refused=False, citations=citations, passages=passages,
                  stats={"timeline_events": float(len(timeline.events)), "undated": float(timeline.undated)})
