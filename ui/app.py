"""The whole page: the tabs composed into one `gr.Blocks`, and mounting it on a FastAPI app
(the `chat-ui` front end that `assistant serve` finds by entry point)."""

from __future__ import annotations

import os
from typing import Any

import gradio as gr

from assistant.config import Settings
from assistant.core import Assistant
from ui.chat import EMPTY_SESSION, build_chat_tab
from ui.evaluate import build_evaluate_tab
from ui.identity import signed_in_line, user_of
from ui.render import CSS, HEAD, theme
from ui.reports import UPLOAD_SWEEP_SECONDS, build_reports_tab
from ui.timeline import build_timeline_tab


def build_ui(assistant: Assistant) -> gr.Blocks:
    """The chat UI around `assistant`: chat with sources, uploads, document list, feedback,
    and the Evaluate tab."""
    settings = assistant.settings
    # Gradio's uploads go to `settings.ui_upload_path` (under ASSISTANT_HOME, not /tmp/gradio).
    # Each component and the app read the folder from the environment when they are created,
    # so it is set before any is; the one server of this process is its only user.
    settings.ui_upload_path.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(settings.ui_upload_path.resolve())
    # Uploads are removed once indexed; delete_cache sweeps those never handed to a handler.
    with gr.Blocks(title="Report Assistant", analytics_enabled=False,
                   delete_cache=(UPLOAD_SWEEP_SECONDS, UPLOAD_SWEEP_SECONDS)) as blocks:
        # Components are numbered in the order they are made (the page's `component-N` ids,
        # the API's `value_N` labels): the conversation's state comes first, then the tabs.
        session = gr.State(dict(EMPTY_SESSION))
        gr.Markdown("# Report Assistant\nAsk about your reports; every claim cites its source.")
        signed_in = gr.Markdown(elem_id="signed-in")
        chat_reports = build_chat_tab(assistant, session, blocks)
        build_timeline_tab(assistant)
        changing = build_reports_tab(assistant, blocks, chat_reports)
        evaluate, not_evaluating = build_evaluate_tab(assistant, blocks)

        def shown_for(request: gr.Request) -> tuple[Any, ...]:
            # What the role may not do is not shown (and its handlers refuse it anyway).
            user = user_of(assistant, request)
            change = gr.update(visible=user.may("documents.change"))
            evaluates = user.may("evaluations")
            return (signed_in_line(user, assistant.users.enabled), *([change] * len(changing)),
                    gr.update(visible=evaluates), gr.update(visible=not evaluates))

        blocks.load(shown_for, outputs=[signed_in, *changing, evaluate, not_evaluating])
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
