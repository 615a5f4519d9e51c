"""The Reports tab: uploads (saved, indexed, then removed from Gradio's folder), the document
list and deleting a report."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from assistant.core import Assistant
from assistant.uploads import delete_report, ingest_uploads, save_upload
from index import SUPPORTED_SUFFIXES, IngestProgress
from index.common.dates import parse_day
from index.common.errors import AssistantError
from index.common.types import IngestReport
from ui.identity import user_of
from ui.summaries import build_summary_view
from ui.render import escape_markdown

DOC_HEADERS = ["doc_id", "title", "source", "date", "date source", "chunks"]
# Fixed widths keep the date columns in view: sized by content, a long title or path pushes
# them out of the table's visible width.
DOC_COLUMN_WIDTHS = ["13%", "32%", "25%", "11%", "11%", "8%"]
UPLOAD_HEADERS = ["file", "result", "detail"]
UPLOAD_SWEEP_SECONDS = 3600


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
    rows += [[d["path"], "duplicate", f"the same text as report {d['of']}"] for d in report.duplicates]
    rows += [[f["path"], "failed", f["error"]] for f in report.failed]
    return rows


class ReportsUI:
    """The Reports tab's handlers, bound to one assistant."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def upload(self, files: list[str] | None, date: str | None = None,
               chosen: list[str] | None = None, progress: gr.Progress = gr.Progress(),
               request: gr.Request = None) -> tuple[Any, ...]:
        """Index uploaded files, dated `date` when given, and refresh the document list; the
        upload shows files and chunks done while they are indexed (`progress`, from Gradio).
        Refused, each file named, when the user's role may not upload.

        `date` and `chosen` default to None: optional in Gradio's API (`/upload` as before).
        """
        try:
            user_of(self.assistant, request).require("documents.change", "upload reports")
        except AssistantError as exc:
            for path in files or []:
                discard_received(self.assistant.settings.ui_upload_path, Path(path))
            return ([[Path(p).name, "failed", str(exc)] for p in files or []], *self._document_updates(chosen), None)
        rows = upload_files(self.assistant, files or [], date,
                            lambda p: progress(p.fraction(), desc=f"Indexing: {p.describe()}"))
        return (rows, *self._document_updates(chosen), None)

    def delete(self, doc_id: str | None, chosen: list[str] | None = None,
               request: gr.Request = None) -> tuple[Any, ...]:
        """Remove the chosen report (if the user's role may) and refresh the document list."""
        if not doc_id:
            status = "Choose a report to delete."
        else:
            try:
                user_of(self.assistant, request).require("documents.change", "delete reports")
                info = delete_report(self.assistant, doc_id)
                status = f"Deleted {escape_markdown(info.title)} ({escape_markdown(info.source)})."
            except AssistantError as exc:
                status = escape_markdown(f"Could not delete: {exc}")
        return (status, *self._document_updates(chosen))

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


def build_reports_tab(assistant: Assistant, blocks: gr.Blocks, chat_reports: gr.Dropdown) -> list[Any]:
    """The Reports tab and its events; an upload or a delete refreshes the Chat tab's report
    filter `chat_reports` too, and so does loading the page. Returns the upload and delete
    controls (shown only to roles that may change the reports)."""
    handlers = ReportsUI(assistant)
    with gr.Tab("Reports"):
        with gr.Column(elem_id="upload-controls") as upload_controls:
            upload_date = gr.Textbox(
                label="Publication date of the files uploaded next (YYYY-MM-DD, optional)",
                elem_id="upload-date", placeholder="taken from each report when left empty")
            files = gr.File(label="Upload reports", elem_id="upload", file_count="multiple",
                            file_types=list(SUPPORTED_SUFFIXES))
        results = gr.Dataframe(headers=UPLOAD_HEADERS, elem_id="upload-results",
                               label="Upload results", interactive=False, wrap=True)
        with gr.Row():  # a report's summary beside the table: click its row
            with gr.Column(scale=3):
                documents = gr.Dataframe(headers=DOC_HEADERS, elem_id="documents",
                                         label="Indexed reports (click one for its summary)",
                                         interactive=False, wrap=True, column_widths=DOC_COLUMN_WIDTHS)
            with gr.Column(scale=2):
                build_summary_view(assistant, documents)
        with gr.Row(elem_id="delete-controls") as delete_controls:
            to_delete = gr.Dropdown(label="Report to delete", elem_id="delete-choice",
                                    choices=[], scale=4)
            delete = gr.Button("Delete", elem_id="delete", variant="stop", scale=1)
        delete_status = gr.Markdown(elem_id="delete-status")

    files.upload(handlers.upload, inputs=[files, upload_date, chat_reports],
                 outputs=[results, documents, to_delete, chat_reports, files])
    delete.click(handlers.delete, inputs=[to_delete, chat_reports],
                 outputs=[delete_status, documents, to_delete, chat_reports])
    blocks.load(handlers.refresh, outputs=[documents, to_delete, chat_reports])
    return [upload_controls, delete_controls]
