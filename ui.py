"""The chat UI (Gradio): built from an `Assistant` it is handed; launching is someone else's job.

`build_ui(assistant)` returns a `gr.Blocks`; `mount_ui(app, blocks, settings)` mounts it on a
FastAPI app at "/" with the options (theme, CSS, script, upload limit) it needs; `mount(app,
assistant)` does both, as the `chat-ui` front end that `assistant serve` finds by entry point.

Security: every string that comes from a report is HTML-escaped before it enters any HTML or
Markdown built here, and the Chatbot sanitizes what it renders, so a report that contains
`<script>` or `<img onerror=...>` is shown as text and never runs. With ASSISTANT_API_TOKEN set,
the whole UI (page, Gradio API, uploads) sits behind `assistant.api.auth.TokenGate`, added by
`assistant.api.create_app`.
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant import plugins
from assistant.citations import MARKER
from assistant.config import MAX_K, Settings
from assistant.core import Assistant
from assistant.feedback import record_feedback
from assistant.models import Answer, Citation, Short
from assistant.uploads import delete_report, ingest_uploads, save_upload
from index.common.dates import parse_day
from index.common.errors import AssistantError
from index.common.types import IngestReport, Passage
from index.loaders import SUPPORTED_SUFFIXES
from index.progress import IngestProgress

SYSTEM_FONTS = ("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial",
                "sans-serif")
MONO_FONTS = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
DOC_HEADERS = ["doc_id", "title", "source", "date", "date source", "chunks"]
# Fixed widths keep the date columns in view: sized by content, a long title or path pushes
# them out of the table's visible width.
DOC_COLUMN_WIDTHS = ["13%", "32%", "25%", "11%", "11%", "8%"]
UPLOAD_HEADERS = ["file", "result", "detail"]
UPLOAD_SWEEP_SECONDS = 3600
EVAL_POLL_SECONDS = 1.0
EXAMPLES_SHOWN = 5  # per outcome, in the Evaluate tab's example list
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


# --- rendering (pure functions: report text in, escaped HTML/Markdown out) ------------------


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


# --- documents and uploads ----------------------------------------------------------------------


def document_rows(assistant: Assistant) -> list[list[Any]]:
    """The document table: one row per indexed report, then one per report being indexed (its
    chunks column says how far it got)."""
    rows = [[d.doc_id, d.title, d.source, d.date or "", d.date_source or "", d.chunks]
            for d in assistant.documents()]
    return rows + [[d.doc_id, d.title, d.source, d.date or "", d.date_source or "",
                    f"indexing {d.indexed_chars / max(d.chars, 1):.0%}"] for d in assistant.indexing()]


def document_choices(assistant: Assistant) -> list[tuple[str, str]]:
    """(label, doc_id) for the delete dropdown and the chat's report filter."""
    return [(f"{d.title} ({d.source})", d.doc_id) for d in assistant.documents()]


def upload_files(assistant: Assistant, paths: Sequence[str], date: str | None = None,
                 on_progress: Callable[[IngestProgress], None] | None = None) -> list[list[str]]:
    """Save and index uploaded files, `date` (YYYY-MM-DD, optional) being the publication date
    of every one; one row (file, result, detail) per file. `on_progress` follows the indexing.

    The files Gradio received are removed once copied: they are in `settings.ui_upload_path`.
    A bad date fails every file and nothing is saved.
    """
    try:
        given = parse_day((date or "").strip(), "date")
    except AssistantError as exc:
        for p in paths:
            discard_received(assistant.settings.ui_upload_path, Path(p))
        return [[Path(p).name, "failed", str(exc)] for p in paths]
    rows: list[list[str]] = []
    saved = []
    for p in paths:
        name = Path(p).name
        try:
            with open(p, "rb") as data:
                saved.append(save_upload(assistant.settings.uploads_path, name, data,
                                         assistant.settings.max_file_bytes))
        except AssistantError as exc:
            rows.append([name, "failed", str(exc)])
        except OSError as exc:  # gone meanwhile: e.g. the same content uploaded twice at once
            rows.append([name, "failed", f"could not be read: {exc.strerror or exc}"])
        finally:
            discard_received(assistant.settings.ui_upload_path, Path(p))
    sweep_abandoned(assistant.settings.ui_upload_path, UPLOAD_SWEEP_SECONDS)
    if saved:
        rows.extend(_report_rows(ingest_uploads(assistant, saved, date=given, on_progress=on_progress)))
    return rows


def sweep_abandoned(root: Path, older_than: float) -> None:
    """Remove what Gradio left in `root` untouched for `older_than` seconds: uploads never
    handed to `upload` (sent by a script), cut off, or the empty file its parser leaves for a
    browser upload. A file being received is written to all the time, so it is never that old."""
    cutoff = time.time() - older_than
    for entry in root.iterdir() if root.is_dir() else ():
        with contextlib.suppress(OSError):  # gone meanwhile
            if entry.stat().st_mtime >= cutoff:
                continue
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def discard_received(root: Path, path: Path) -> None:
    """Remove a file Gradio received, and its folder when empty; never anything outside `root`."""
    root, path = root.resolve(), path.resolve()
    if root not in path.parents:
        return
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty: another upload of the same content
        if path.parent != root:
            path.parent.rmdir()


def _report_rows(report: IngestReport) -> list[list[str]]:
    rows = [[s, "added", ""] for s in report.added]
    rows += [[s, "updated", "replaced the earlier version"] for s in report.updated]
    rows += [[s, "unchanged", "already indexed"] for s in report.unchanged]
    rows += [[f["path"], "failed", f["error"]] for f in report.failed]
    return rows


# --- evaluation ------------------------------------------------------------------------------


def render_eval_status(status: dict[str, Any] | None) -> str:
    """A run's progress bar (questions done of all, elapsed, estimated time left) or outcome."""
    if not status:
        return '<p class="meta">Upload a test set (JSONL, one question per line) to evaluate the index.</p>'
    done, total, elapsed = status["done"], status["total"], status["elapsed_s"]
    line = f"{done} / {total} questions · {elapsed:.0f} s elapsed"
    if status["status"] == "running" and done:
        line += f" · about {elapsed / done * (total - done):.0f} s left"
    state = {"running": "Running", "done": "Done", "failed": "Failed"}[status["status"]]
    parts = [f'<div data-status="{status["status"]}"><strong>{state}</strong>: evaluation '
             f'{html.escape(status["id"])} of {html.escape(status["testset"])} (k {status["k"]}, '
             f'{html.escape(status["llm"])})</div>',
             f'<progress value="{done}" max="{max(total, 1)}"></progress>',
             f'<div class="meta" id="eval-progress">{line}</div>']
    if status.get("error"):
        parts.append(f'<div class="meta">{html.escape(status["error"])}</div>')
    parts += [f'<div class="meta">{html.escape(w)}</div>' for w in status.get("warnings", [])]
    return "".join(parts)


def render_eval_example(example: dict[str, Any] | None) -> str:
    """One evaluated question: the gold answers, the answer with its markers, and each cited
    passage with the quote marked."""
    if not example:
        return ""
    row = example["row"]
    parts = [f"<p><strong>{html.escape(example['question'])}</strong></p>",
             f'<p class="meta">Expected: {html.escape(" | ".join(example["answers"]) or "a refusal")}</p>',
             f"<p>{html.escape(row['answer'])}</p>"]
    for c in row.get("citations", []):
        shown = marked_passage(c["doc_id"], c["start"], c["end"], c["quote"],
                               ((p["doc_id"], p["start"], p["end"], p["text"])
                                for p in row.get("retrieved", []) if "text" in p))
        parts.append(f'<div class="meta">[{c["n"]}] {html.escape(c["title"])} · '
                     f'{html.escape(c["source"])}</div><div class="passage">{shown}</div>')
    return "".join(parts)


class EvalUI:
    """The Evaluate tab's handlers: runs of the registered `Evaluations` of one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    @property
    def runs(self) -> plugins.Evaluations:
        return plugins.evaluations(self.assistant)

    def start(self, path: str | None, k: float | None) -> tuple[Any, ...]:
        """Start a run on the uploaded test set: its id, a message (why it did not start), the
        timer switched on, and the tab showing the new run."""
        if not path:
            return (gr.skip(), "Choose a test set first.", *([gr.skip()] * 8))
        try:
            data = Path(path).read_bytes()
            status = self.runs.start(data, Path(path).name, k=int(k) if k else None)
        except (AssistantError, OSError) as exc:
            return (gr.skip(), escape_markdown(f"Could not start: {exc}"), *([gr.skip()] * 8))
        return (status["id"], "", gr.Timer(active=True), *self.open(status["id"]))

    def poll(self, run_id: str | None) -> tuple[Any, ...]:
        """The run's progress; once it has ended, its results too, and the timer off."""
        if not run_id:
            return (gr.Timer(active=False), *([gr.skip()] * 7))
        status = self.runs.status(run_id, results=False)
        if status["status"] == "running":
            return (gr.skip(), render_eval_status(status), *([gr.skip()] * 6))
        return (gr.Timer(active=False), *self.open(run_id))

    def open(self, run_id: str | None) -> tuple[Any, ...]:
        """Everything the tab shows of a run: status, metrics, outcomes, plots, examples,
        downloads, and the list of runs."""
        runs = self.runs.runs()
        choices = [(f"{r['id']} · {r['testset']} · {r['status']} {r['done']}/{r['total']}", r["id"])
                   for r in runs]
        if not run_id:
            return ("", [], [], [], gr.update(choices=[], value=None), None,
                    gr.update(choices=choices, value=None))
        try:
            status = self.runs.status(run_id)
        except AssistantError as exc:
            return (escape_markdown(str(exc)), [], [], [], gr.update(choices=[], value=None), None,
                    gr.update(choices=choices, value=None))
        results = status.get("results") or {}
        metrics = [[name, "n/a" if v is None else (f"{v:.0f}" if name.endswith("_ms") else f"{v:.3f}")]
                   for name, v in results.get("metrics", {}).items()]
        breakdown = results.get("breakdown", {})
        count = sum(breakdown.values()) or 1
        outcomes = [[name, n, f"{n / count:.1%}"] for name, n in breakdown.items()]
        examples = [(f"{outcome} · {e['id']} · {e['question']}", f"{outcome}\t{e['id']}")
                    for outcome, found in self.runs.examples(run_id).items()
                    for e in found[:EXAMPLES_SHOWN]] if status["status"] != "running" else []
        files = [str(self.runs.file(run_id, name)) for name in ("report.md", "questions.jsonl")
                 if status["status"] == "done"]
        plots = [str(p) for p in self.runs.plots(run_id)]
        return (render_eval_status(status), metrics, outcomes, plots,
                gr.update(choices=examples, value=None), files or None,
                gr.update(choices=choices, value=run_id))

    def choose(self, run_id: str | None) -> tuple[Any, ...]:
        """An earlier run opened from the list: it is followed (the timer on) while it runs."""
        running = bool(run_id) and self.runs.status(run_id, results=False)["status"] == "running"
        return (run_id, gr.Timer(active=running), *self.open(run_id))

    def example(self, run_id: str | None, choice: str | None) -> str:
        """The chosen example question's answer and cited passages."""
        if not run_id or not choice:
            return ""
        outcome, _, question_id = choice.partition("\t")
        found = self.runs.examples(run_id).get(outcome, [])
        return render_eval_example(next((e for e in found if e["id"] == question_id), None))


# --- the app ---------------------------------------------------------------------------------


class ChatUI:
    """The event handlers of the UI, bound to one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def respond(
        self, question: str, messages: list[dict[str, Any]], session: dict[str, Any], k: float,
        doc_ids: list[str] | None = None, date_from: str | None = None, date_to: str | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream the answer into the chat, then fill the sources panel.

        `session` holds what the browser must not be trusted to echo back verbatim: the raw
        conversation (history for follow-ups) and, per answer, what feedback records.
        `doc_ids`, `date_from` and `date_to` (YYYY-MM-DD; empty: no limit) limit the reports
        used; a bad date is the assistant's InputError, shown in the chat. Their defaults of None
        make them optional in Gradio's API, so clients calling `/respond` as before still work.
        """
        question = (question or "").strip()
        session = _copy_session(session)
        if not question:
            yield messages, gr.skip(), "", session
            return
        turn = len(session["answers"]) + 1
        messages = [*messages, {"role": "user", "content": escape_markdown(question)},
                    {"role": "assistant", "content": ""}]
        text = ""
        try:
            stream = self.assistant.ask_stream(
                question, session["history"], k=int(k), doc_ids=doc_ids or [],
                date_from=(date_from or "").strip(), date_to=(date_to or "").strip(),
            )
            for delta in stream:
                text += delta
                messages[-1] = {"role": "assistant", "content": render_answer(text, turn)}
                yield messages, gr.skip(), "", session
            answer = stream.result()
        except AssistantError as exc:
            messages[-1] = {"role": "assistant", "content": escape_markdown(f"Error: {exc}")}
            yield messages, gr.skip(), "", session
            return
        messages[-1] = {"role": "assistant", "content": render_answer(answer.answer, turn, answer.short)}
        session["history"] += [{"role": "user", "content": question},
                               {"role": "assistant", "content": answer.answer}]
        session["answers"].append({
            "message_index": len(messages) - 1, "turn": turn, "question": question,
            "answer": answer.answer, "citations": [c.to_dict() for c in answer.citations],
            "rendered": answer,
        })
        turns = [(a["turn"], a["question"], a["rendered"]) for a in session["answers"]]
        yield messages, render_sources_panel(turns), "", session

    def feedback(self, session: dict[str, Any], like: gr.LikeData) -> str:
        """Thumbs up/down on an answer: one line in `settings.feedback_path`."""
        index = like.index if isinstance(like.index, int) else like.index[0]
        for record in session.get("answers", []):
            if record["message_index"] == index:
                liked = like.liked is True
                record_feedback(self.assistant.settings.feedback_path, record, liked)
                return f"Thanks: thumbs {'up' if liked else 'down'} recorded."
        return "That message has no answer to rate."

    def upload(self, files: list[str] | None, date: str | None = None,
               chosen: list[str] | None = None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
        """Index uploaded files, dated `date` when given, and refresh the document list; the
        upload shows files and chunks done while they are indexed (`progress`, from Gradio).

        `date` and `chosen` default to None: optional in Gradio's API (`/upload` as before).
        """
        rows = upload_files(self.assistant, files or [], date,
                            lambda p: progress(p.fraction(), desc=f"Indexing: {p.describe()}"))
        return (rows, *self._document_updates(chosen), None)

    def delete(self, doc_id: str | None, chosen: list[str] | None = None) -> tuple[Any, ...]:
        """Remove the chosen report and refresh the document list."""
        if not doc_id:
            status = "Choose a report to delete."
        else:
            try:
                info = delete_report(self.assistant, doc_id)
                status = f"Deleted {escape_markdown(info.title)} ({escape_markdown(info.source)})."
            except AssistantError as exc:
                status = escape_markdown(f"Could not delete: {exc}")
        return (status, *self._document_updates(chosen))

    def clear(self) -> tuple[dict[str, Any], str]:
        """A cleared chat starts a new conversation: no history, no sources."""
        return {"history": [], "answers": []}, render_sources_panel([])

    def refresh(self) -> tuple[Any, ...]:
        """The document list as it is now (on page load)."""
        return self._document_updates(None)

    def _document_updates(self, chosen: list[str] | None) -> tuple[Any, Any, Any]:
        """The document table, the delete dropdown (cleared) and the chat's report filter.

        The filter keeps the chosen reports still indexed: Gradio refuses a value that is not
        among the choices, and a report deleted or replaced (new content, new id) is gone.
        """
        choices = document_choices(self.assistant)
        indexed = {doc_id for _, doc_id in choices}
        kept = [doc_id for doc_id in chosen or [] if doc_id in indexed]
        return (document_rows(self.assistant), gr.update(choices=choices, value=None),
                gr.update(choices=choices, value=kept))


def _copy_session(session: dict[str, Any] | None) -> dict[str, Any]:
    session = session or {}
    return {"history": list(session.get("history", [])),
            "answers": list(session.get("answers", []))}


def build_ui(assistant: Assistant) -> gr.Blocks:
    """The chat UI around `assistant`: chat with sources, uploads, document list, feedback,
    and the Evaluate tab."""
    handlers = ChatUI(assistant)
    settings = assistant.settings
    # Gradio's uploads go to `settings.ui_upload_path` (under ASSISTANT_HOME, not /tmp/gradio).
    # Each component and the app read the folder from the environment when they are created,
    # so it is set before any is; the one server of this process is its only user.
    settings.ui_upload_path.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(settings.ui_upload_path.resolve())
    # Uploads are removed once indexed; delete_cache sweeps those never handed to a handler.
    with gr.Blocks(title="Report Assistant", analytics_enabled=False,
                   delete_cache=(UPLOAD_SWEEP_SECONDS, UPLOAD_SWEEP_SECONDS)) as blocks:
        session = gr.State({"history": [], "answers": []})
        gr.Markdown("# Report Assistant\nAsk about your reports; every claim cites its source.")
        with gr.Tab("Chat"), gr.Row():
            with gr.Column(scale=3):
                chatbot = gr.Chatbot(
                    elem_id="chat", label="Conversation", height=480,
                    sanitize_html=True, render_markdown=True, latex_delimiters=[],
                    allow_tags=False, feedback_options=("Like", "Dislike"),
                    buttons=["copy", "copy_all"],
                )
                with gr.Row():
                    question = gr.Textbox(elem_id="question", show_label=False, scale=5,
                                          placeholder="Ask a question about the reports")
                    send = gr.Button("Ask", elem_id="ask", variant="primary", scale=1)
                k = gr.Slider(1, MAX_K, value=settings.k, step=1, elem_id="k",
                              label="Passages to use (k)")
                with gr.Accordion("Limit to reports and dates", open=False, elem_id="limits"):
                    chat_reports = gr.Dropdown(label="Only these reports", elem_id="chat-reports",
                                               choices=[], multiselect=True)
                    with gr.Row():
                        date_from = gr.Textbox(label="Published from (YYYY-MM-DD)",
                                               elem_id="date-from", placeholder="any date")
                        date_to = gr.Textbox(label="Published to (YYYY-MM-DD)",
                                             elem_id="date-to", placeholder="any date")
                feedback_status = gr.Markdown(elem_id="feedback-status")
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources = gr.HTML(render_sources_panel([]), elem_id="sources")
        with gr.Tab("Reports"):
            upload_date = gr.Textbox(
                label="Publication date of the files uploaded next (YYYY-MM-DD, optional)",
                elem_id="upload-date", placeholder="taken from each report when left empty")
            files = gr.File(label="Upload reports", elem_id="upload", file_count="multiple",
                            file_types=list(SUPPORTED_SUFFIXES))
            results = gr.Dataframe(headers=UPLOAD_HEADERS, elem_id="upload-results",
                                   label="Upload results", interactive=False, wrap=True)
            documents = gr.Dataframe(headers=DOC_HEADERS, elem_id="documents",
                                     label="Indexed reports", interactive=False, wrap=True,
                                     column_widths=DOC_COLUMN_WIDTHS)
            with gr.Row():
                to_delete = gr.Dropdown(label="Report to delete", elem_id="delete-choice",
                                        choices=[], scale=4)
                delete = gr.Button("Delete", elem_id="delete", variant="stop", scale=1)
            delete_status = gr.Markdown(elem_id="delete-status")
        with gr.Tab("Evaluate"):
            eval_run = gr.State(None)
            with gr.Row():
                eval_file = gr.File(label="Test set (JSONL: SPEC.md, Evaluation)", elem_id="eval-upload",
                                    file_types=[".jsonl"], type="filepath", scale=4)
                with gr.Column(scale=1):
                    eval_k = gr.Number(value=settings.k, precision=0, minimum=1, maximum=MAX_K,
                                       label="Passages to use (k)", elem_id="eval-k")
                    eval_start = gr.Button("Evaluate the index", elem_id="eval-start", variant="primary")
            eval_message = gr.Markdown(elem_id="eval-message")
            eval_status = gr.HTML(render_eval_status(None), elem_id="eval-status")
            eval_timer = gr.Timer(EVAL_POLL_SECONDS, active=False)
            with gr.Row():
                eval_metrics = gr.Dataframe(headers=["metric", "value"], elem_id="eval-metrics",
                                            label="Metrics", interactive=False)
                eval_outcomes = gr.Dataframe(headers=["outcome", "questions", "share"],
                                             elem_id="eval-outcomes", label="How questions ended",
                                             interactive=False)
            eval_plots = gr.Gallery(label="Plots", elem_id="eval-plots", columns=3, height=420,
                                    object_fit="contain")
            eval_example = gr.Dropdown(label="Example questions by outcome", elem_id="eval-example",
                                       choices=[])
            eval_answer = gr.HTML(elem_id="eval-answer")
            with gr.Row():
                eval_runs = gr.Dropdown(label="Runs (open one)", elem_id="eval-runs", choices=[], scale=3)
                eval_files = gr.File(label="Download", elem_id="eval-files", file_count="multiple",
                                     interactive=False, scale=2)

        ask_io: dict[str, Any] = {
            "fn": handlers.respond,
            "inputs": [question, chatbot, session, k, chat_reports, date_from, date_to],
            "outputs": [chatbot, sources, question, session],
        }
        question.submit(**ask_io)
        send.click(**ask_io)
        chatbot.like(handlers.feedback, inputs=[session], outputs=[feedback_status])
        chatbot.clear(handlers.clear, outputs=[session, sources])
        files.upload(handlers.upload, inputs=[files, upload_date, chat_reports],
                     outputs=[results, documents, to_delete, chat_reports, files])
        delete.click(handlers.delete, inputs=[to_delete, chat_reports],
                     outputs=[delete_status, documents, to_delete, chat_reports])
        blocks.load(handlers.refresh, outputs=[documents, to_delete, chat_reports])
        evals = EvalUI(assistant)
        shown = [eval_status, eval_metrics, eval_outcomes, eval_plots, eval_example, eval_files, eval_runs]
        eval_start.click(evals.start, inputs=[eval_file, eval_k],
                         outputs=[eval_run, eval_message, eval_timer, *shown])
        eval_timer.tick(evals.poll, inputs=[eval_run], outputs=[eval_timer, *shown])
        eval_runs.input(evals.choose, inputs=[eval_runs], outputs=[eval_run, eval_timer, *shown])
        eval_example.input(evals.example, inputs=[eval_run, eval_example], outputs=[eval_answer])
        blocks.load(lambda: evals.open(None)[-1], outputs=[eval_runs])
    return blocks


def mount(app: Any, assistant: Assistant) -> Any:
    """The chat UI mounted at "/" of `app` (the `chat-ui` front end `assistant serve` finds)."""
    return mount_ui(app, build_ui(assistant), assistant.settings)


def mount_ui(app: Any, blocks: gr.Blocks, settings: Settings, path: str = "/") -> Any:
    """Mount `blocks` on the FastAPI `app` with the theme, CSS, script and upload limit."""
    return gr.mount_gradio_app(
        app, blocks, path=path, theme=theme(), css=CSS, head=HEAD,
        max_file_size=settings.max_file_bytes, allowed_paths=[str(settings.evals_path.resolve())],
        footer_links=["api"], run_history=False, show_error=True,
    )
