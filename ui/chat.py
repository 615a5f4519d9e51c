"""The Chat tab: the answer streamed into the conversation, its sources beside it, feedback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.config import MAX_K
from assistant.core import Assistant
from assistant.feedback import record_feedback
from index.common.errors import AssistantError
from ui.render import escape_markdown, render_answer, render_sources_panel


class ChatUI:
    """The Chat tab's handlers, bound to one assistant."""

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

    def clear(self) -> tuple[dict[str, Any], str]:
        """A cleared chat starts a new conversation: no history, no sources."""
        return {"history": [], "answers": []}, render_sources_panel([])


def _copy_session(session: dict[str, Any] | None) -> dict[str, Any]:
    session = session or {}
    return {"history": list(session.get("history", [])),
            "answers": list(session.get("answers", []))}


def build_chat_tab(assistant: Assistant, session: gr.State) -> gr.Dropdown:
    """The Chat tab and its events, the conversation kept in `session`; returns its report
    filter, which the Reports tab keeps in step with the indexed reports."""
    handlers = ChatUI(assistant)
    settings = assistant.settings
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

    ask_io: dict[str, Any] = {
        "fn": handlers.respond,
        "inputs": [question, chatbot, session, k, chat_reports, date_from, date_to],
        "outputs": [chatbot, sources, question, session],
    }
    question.submit(**ask_io)
    send.click(**ask_io)
    chatbot.like(handlers.feedback, inputs=[session], outputs=[feedback_status])
    chatbot.clear(handlers.clear, outputs=[session, sources])
    return chat_reports
