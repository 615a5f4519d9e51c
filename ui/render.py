"""Rendering for the UI: pure functions, report text in, escaped HTML/Markdown out; and the
page's look (theme, CSS, the script that opens a cited source).

Security: every string that comes from a report is HTML-escaped before it enters any HTML or
Markdown built here, and the Chatbot sanitizes what it renders, so a report that contains
`<script>` or `<img onerror=...>` is shown as text and never runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import gradio as gr

from assistant.citations import MARKER
from assistant.models import Answer, Citation, Short
from index.common.types import Passage

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
# Backslash-escaping these keeps report text literal in the Chatbot's Markdown.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$])")

CSS = """
#sources .source { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 12px; margin-bottom: 8px; }
#sources .source.flash { outline: 3px solid var(--color-accent); }
#sources .meta { font-size: 0.85em; opacity: 0.8; }
#sources .passage { white-space: pre-wrap; }
#sources mark, #eval-answer mark { background: #ffe58a; color: inherit; padding: 0 2px; }
#eval-answer .passage { white-space: pre-wrap; border-left: 3px solid var(--border-color-primary);
  padding-left: 8px; margin: 4px 0 8px; }
#eval-status progress { width: 100%; height: 14px; }
a.cite { text-decoration: none; font-weight: 600; }
#sources mark strong.short { text-decoration: underline 2px; }
#timeline-events ol.timeline { list-style: none; margin: 0; padding: 0 0 0 18px;
  border-left: 3px solid var(--border-color-primary); }
#timeline-events li.event { position: relative; margin: 0 0 10px; }
#timeline-events li.event::before { content: ""; position: absolute; left: -26px; top: 6px; width: 11px;
  height: 11px; border-radius: 50%; background: var(--color-accent); }
#timeline-events summary { cursor: pointer; }
#timeline-events .event-date { font-weight: 600; font-variant-numeric: tabular-nums; margin-right: 6px; }
#timeline-events .meta, #summary .meta { font-size: 0.85em; opacity: 0.8; }
#timeline-events .passage { white-space: pre-wrap; border-left: 3px solid var(--border-color-primary);
  padding-left: 8px; margin: 4px 0 8px; }
#timeline-events mark, #summary mark { background: #ffe58a; color: inherit; padding: 0 2px; }
"""

# A click on an [n] marker opens and scrolls to its source. Links inside the chat may be
# given target=_blank by Gradio, so the click is handled here instead of by the browser.
HEAD = """
<script>
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest('a[href^="#source-"]');
  if (!link) return;
  var target = document.getElementById(link.getAttribute("href").slice(1));
  if (!target) return;
  event.preventDefault();
  event.stopPropagation();
  var details = target.closest("details");
  if (details) details.open = true;
  target.scrollIntoView({behavior: "smooth", block: "center"});
  target.classList.add("flash");
  setTimeout(function () { target.classList.remove("flash"); }, 1500);
}, true);
</script>
"""


def theme() -> gr.themes.Base:
    """The default theme with system fonts: nothing is fetched from a font CDN."""
    return gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(MONO_FONTS))


def escape_markdown(text: str) -> str:
    """Report text as Markdown that renders literally: HTML-escaped, Markdown-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def render_answer(answer_text: str, turn: int, short: Short | None = None) -> str:
    """The answer as safe Markdown whose `[n]` markers link to `#source-{turn}-{n}`, after the
    short answer (in bold, with its marker) where there is one."""
    if short is not None:
        return (f'<strong class="short-answer">{escape_markdown(short.text)}</strong> '
                + render_answer(f"[{short.n}]", turn) + "\n\n" + render_answer(answer_text, turn))
    pieces, last = [], 0
    for match in MARKER.finditer(answer_text):
        pieces.append(escape_markdown(answer_text[last:match.start()]))
        n = match.group(1)
        pieces.append(f'<a class="cite" href="#source-{turn}-{n}">[{n}]</a>')
        last = match.end()
    pieces.append(escape_markdown(answer_text[last:]))
    return "".join(pieces)


def highlighted_passage(citation: Citation, passages: Sequence[Passage], short: Short | None = None) -> str:
    """The passage holding the citation, escaped, with the quoted span in `<mark>` and, when
    the short answer lies in it, that in `<strong class="short">` inside the mark."""
    inner = (short.start, short.end) if short is not None and short.n == citation.n else None
    return marked_passage(citation.doc_id, citation.start, citation.end, citation.quote,
                          ((p.doc_id, p.start, p.end, p.text) for p in passages), inner)


def marked_passage(doc_id: str, start: int, end: int, quote: str,
                   passages: Iterable[tuple[str, int, int, str]], inner: tuple[int, int] | None = None) -> str:
    """The first of `passages` (doc_id, start, end, text) holding the span `start:end` of report
    `doc_id`, escaped, with the span in `<mark>` (and the `inner` span of it, document offsets,
    in `<strong class="short">`); the `quote` alone when none holds it."""
    for p_doc, p_start, p_end, text in passages:
        if p_doc == doc_id and p_start <= start and end <= p_end:
            s, e = start - p_start, end - p_start
            return (html.escape(text[:s]) + "<mark>" + _marked_inner(text[s:e], start, inner) + "</mark>"
                    + html.escape(text[e:]))
    return "<mark>" + _marked_inner(quote, start, inner) + "</mark>"


def _marked_inner(quote: str, start: int, inner: tuple[int, int] | None) -> str:
    if inner is None or not (start <= inner[0] < inner[1] <= start + len(quote)):
        return html.escape(quote)
    a, b = inner[0] - start, inner[1] - start
    return (html.escape(quote[:a]) + '<strong class="short">' + html.escape(quote[a:b]) + "</strong>"
            + html.escape(quote[b:]))


def render_sources(answer: Answer, turn: int) -> str:
    """One block per citation: title, date, source and the passage with the quote marked."""
    if not answer.citations:
        why = "No report supports an answer." if answer.refused else "No citations."
        return f'<p class="meta">{why}</p>'
    blocks = []
    for c in answer.citations:
        meta = " · ".join(html.escape(x) for x in (c.date or "undated", c.source))
        blocks.append(
            f'<div class="source" id="source-{turn}-{c.n}" data-n="{c.n}">'
            f"<div><strong>[{c.n}] {html.escape(c.title)}</strong></div>"
            f'<div class="meta">{meta}</div>'
            f'<div class="passage">{highlighted_passage(c, answer.passages, answer.short)}</div></div>'
        )
    return "".join(blocks)


def render_sources_panel(turns: Sequence[tuple[int, str, Answer]]) -> str:
    """Sources of every answer, newest open first; `turns` is (turn, question, answer)."""
    if not turns:
        return '<div id="sources-empty" class="meta">Sources of the answers appear here.</div>'
    parts = []
    for i, (turn, question, answer) in enumerate(reversed(turns)):
        opened = " open" if i == 0 else ""
        parts.append(
            f'<details class="turn" data-turn="{turn}"{opened}><summary>Answer {turn}: '
            f"{html.escape(question)}</summary>{render_sources(answer, turn)}</details>"
        )
    return "".join(parts)
