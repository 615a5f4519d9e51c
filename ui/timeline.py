"""The Timeline tab: a topic and optional dates in, the reports about it as a vertical list by
date out, each event's sentence cited and, opened, shown highlighted in its passage."""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from assistant.core import Assistant
from assistant.timeline import Timeline, TimelineEvent
from index.common.errors import AssistantError
from ui.identity import user_of
from ui.render import marked_passage

EMPTY = '<p class="meta" id="timeline-empty">Enter a topic: a name, an event or a question.</p>'


def render_event(event: TimelineEvent) -> str:
    """One event: its date and cited sentence; opened, its report and the passage with the
    sentence marked."""
    c, p = event.sentence, event.passage
    passage = marked_passage(c.doc_id, c.start, c.end, c.quote, [(p.doc_id, p.start, p.end, p.text)])
    copies = ""
    if event.also_in:
        names = ", ".join(html.escape(s) for s in event.also_in_sources)
        copies = f'<div class="meta also-in">Also in: {names}</div>'
    return (
        f'<li class="event" id="event-{c.n}" data-doc-id="{html.escape(event.doc_id)}"><details>'
        f'<summary><span class="event-date">{html.escape(event.date)}</span> '
        f'<span class="event-sentence">{html.escape(c.quote)}</span> <span class="cite">[{c.n}]</span></summary>'
        f'<div class="meta">{html.escape(event.title)} · {html.escape(event.source)}</div>{copies}'
        f'<div class="passage">{passage}</div></details></li>'
    )


def render_timeline(timeline: Timeline | None) -> str:
    """The events oldest first, or why there are none; how many undated reports were left out."""
    if timeline is None:
        return EMPTY
    notes = []
    if timeline.events:
        notes.append(f"{len(timeline.events)} event{'s' if len(timeline.events) != 1 else ''} about "
                     f"“{html.escape(timeline.topic)}”, oldest first; open one for its passage.")
    if timeline.message:
        notes.append(html.escape(timeline.message))
    elif timeline.undated:
        notes.append(f"{timeline.undated} undated report{'s' if timeline.undated != 1 else ''} about it "
                     "left out.")
    head = f'<p class="meta" id="timeline-note">{" ".join(notes)}</p>'
    return head + '<ol class="timeline">' + "".join(render_event(e) for e in timeline.events) + "</ol>"


class TimelineUI:
    """The Timeline tab's handler, bound to one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def show(self, topic: str, date_from: str | None = None, date_to: str | None = None,
             as_of: str | None = None, request: gr.Request = None) -> str:
        """The timeline of `topic` between the dates (YYYY-MM-DD; empty: no bound), as known on
        `as_of`; an error (a bad date names its field) in place of the list."""
        try:
            user_of(self.assistant, request).require("ask", "read timelines")
            timeline = self.assistant.timeline(topic or "", date_from=(date_from or "").strip(),
                                               date_to=(date_to or "").strip(), as_of=(as_of or "").strip())
        except AssistantError as exc:
            return f'<p class="meta" id="timeline-error">{html.escape(str(exc))}</p>'
        return render_timeline(timeline)


def build_timeline_tab(assistant: Assistant) -> Any:
    """The Timeline tab and its events; returns the tab."""
    handlers = TimelineUI(assistant)
    with gr.Tab("Timeline") as tab:
        with gr.Row():
            topic = gr.Textbox(label="Topic", elem_id="timeline-topic", scale=5,
                               placeholder="a name, an event or a question")
            show = gr.Button("Show timeline", elem_id="timeline-show", variant="primary", scale=1)
        with gr.Row():
            date_from = gr.Textbox(label="Published from (YYYY-MM-DD)", elem_id="timeline-from",
                                   placeholder="any date")
            date_to = gr.Textbox(label="Published to (YYYY-MM-DD)", elem_id="timeline-to",
                                 placeholder="any date")
            as_of = gr.Textbox(label="As of (YYYY-MM-DD): later reports left out", elem_id="timeline-as-of",
                               placeholder="today")
        events = gr.HTML(EMPTY, elem_id="timeline-events")
    io: dict[str, Any] = {"fn": handlers.show, "inputs": [topic, date_from, date_to, as_of], "outputs": [events]}
    topic.submit(**io)
    show.click(**io)
    return tab
