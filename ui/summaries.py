"""The Reports tab's summary view: a report chosen in the table, its summary beside it, each
sentence with its marker and where in the report it stands."""

from __future__ import annotations

import html

import gradio as gr

from assistant.citations import MARKER
from assistant.core import Assistant
from assistant.summary import Summary
from index.common.errors import AssistantError
from ui.identity import user_of

EMPTY = '<p class="meta" id="summary-empty">Choose a report in the table for its summary.</p>'


def render_summary(summary: Summary, title: str) -> str:
    """The summary, escaped, its `[n]` markers linked to the cited sentences listed below it
    with their offsets in the report."""
    pieces, last = [], 0
    for match in MARKER.finditer(summary.summary):
        pieces.append(html.escape(summary.summary[last:match.start()]))
        pieces.append(f'<a class="cite" href="#summary-cite-{match.group(1)}">[{match.group(1)}]</a>')
        last = match.end()
    pieces.append(html.escape(summary.summary[last:]))
    cited = "".join(
        f'<li id="summary-cite-{c.n}" data-start="{c.start}" data-end="{c.end}">[{c.n}] '
        f'<mark>{html.escape(c.quote)}</mark> <span class="meta">chars {c.start}-{c.end}</span></li>'
        for c in summary.citations)
    return (f'<div class="summary" data-doc-id="{html.escape(summary.doc_id)}"><h4>{html.escape(title)}</h4>'
            f'<p class="summary-text">{"".join(pieces)}</p><ol class="summary-citations">{cited}</ol></div>')


class SummaryUI:
    """The summary view's handler, bound to one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def show(self, event: gr.SelectData, request: gr.Request = None) -> str:
        """The summary of the report whose row was clicked (its first cell is the doc_id)."""
        row = event.row_value or []
        if not row or not row[0]:
            return EMPTY
        try:
            user_of(self.assistant, request).require("ask", "read summaries")
            summary = self.assistant.summary(str(row[0]))
        except AssistantError as exc:
            return f'<p class="meta" id="summary-error">{html.escape(str(exc))}</p>'
        return render_summary(summary, str(row[1]) if len(row) > 1 else summary.doc_id)


def build_summary_view(assistant: Assistant, documents: gr.Dataframe) -> gr.HTML:
    """The summary panel, filled when a row of `documents` (the report table) is clicked."""
    panel = gr.HTML(EMPTY, elem_id="summary", label="Summary")
    documents.select(SummaryUI(assistant).show, outputs=[panel])
    return panel
