"""The chat UI (Gradio): built from an `Assistant` it is handed; launching is someone else's job.

`build_ui(assistant)` returns a `gr.Blocks`; `mount_ui(app, blocks, settings)` mounts it on a
FastAPI app at "/" with the options (theme, CSS, script, upload limit) it needs; `mount(app,
assistant)` does both, as the `chat-ui` front end that `assistant serve` finds by entry point.

One module per job: `render` (escaped HTML/Markdown, the page's look), `chat`, `reports` and
`evaluate` (one tab each: its handlers and its builder), `app` (the tabs composed, mounting).
The names below are re-exported so `from ui import X` works as it did when `ui` was one module.

Security: every string that comes from a report is HTML-escaped before it enters any HTML or
Markdown built here, and the Chatbot sanitizes what it renders, so a report that contains
`<script>` or `<img onerror=...>` is shown as text and never runs. With users or
ASSISTANT_API_TOKEN set, the whole UI (page, Gradio API, uploads) sits behind
`assistant.api.auth.Gate`, added by `assistant.api.create_app`; each handler acts for the
signed-in user (ui/identity.py) and refuses what their role may not do, whatever the page shows.
"""

from ui.app import build_ui, mount, mount_ui
from ui.chat import ChatUI
from ui.evaluate import EVAL_POLL_SECONDS, EXAMPLES_SHOWN, EvalUI, render_eval_example, render_eval_status
from ui.render import (
    CSS,
    HEAD,
    MONO_FONTS,
    SYSTEM_FONTS,
    escape_markdown,
    highlighted_passage,
    marked_passage,
    render_answer,
    render_sources,
    render_sources_panel,
    theme,
)
from ui.reports import (
    DOC_COLUMN_WIDTHS,
    DOC_HEADERS,
    UPLOAD_HEADERS,
    UPLOAD_SWEEP_SECONDS,
    ReportsUI,
    discard_received,
    document_choices,
    document_rows,
    sweep_abandoned,
    upload_files,
)

__all__ = [
    "CSS", "DOC_COLUMN_WIDTHS", "DOC_HEADERS", "EVAL_POLL_SECONDS", "EXAMPLES_SHOWN", "HEAD",
    "MONO_FONTS", "SYSTEM_FONTS", "UPLOAD_HEADERS", "UPLOAD_SWEEP_SECONDS",
    "ChatUI", "EvalUI", "ReportsUI",
    "build_ui", "discard_received", "document_choices", "document_rows", "escape_markdown",
    "highlighted_passage", "marked_passage", "mount", "mount_ui", "render_answer",
    "render_eval_example", "render_eval_status", "render_sources", "render_sources_panel",
    "sweep_abandoned", "theme", "upload_files",
]
