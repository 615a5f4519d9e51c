"""The Chat tab: the conversations list (newest first: open, search, rename, delete, new), the
answer streamed into the open conversation and saved as its next turn, its sources beside it,
and feedback on each answer (thumbs, an optional comment) kept with its turn."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.config import MAX_K
from assistant.core import Assistant
from assistant.models import Answer
from assistant.saved_chat import NEW, ask_saved
from index.common.errors import AssistantError
from ui.identity import user_of
from ui.render import escape_markdown, render_answer, render_sources_panel

EMPTY_SESSION: dict[str, Any] = {"conversation": None, "answers": [], "rated": None}


class ChatUI:
    """The Chat tab's handlers, bound to one assistant; each acts for the signed-in user on
    their own conversations."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.saved = assistant.conversations

    def respond(
        self, question: str, messages: list[dict[str, Any]], session: dict[str, Any], k: float,
        doc_ids: list[str] | None = None, date_from: str | None = None, date_to: str | None = None,
        request: gr.Request = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream the answer into the chat, save it as the open conversation's next turn (a new
        conversation's first), then fill the sources panel and the list.

        `session` holds what the browser must not be trusted to echo back verbatim: the open
        conversation's id and, per answer, what feedback refers to. `doc_ids`, `date_from` and
        `date_to` (YYYY-MM-DD; empty: no limit) limit the reports used; a bad date is the
        assistant's InputError, shown in the chat. Their defaults of None make them optional in
        Gradio's API, so clients calling `/respond` as before still work.
        """
        question = (question or "").strip()
        session = _copy_session(session)
        if not question:
            yield messages, gr.skip(), "", session, gr.skip()
            return
        messages = [*messages, {"role": "user", "content": escape_markdown(question)},
                    {"role": "assistant", "content": ""}]
        turn = len(session["answers"]) + 1
        text = ""
        try:
            user = user_of(self.assistant, request)
            stream = ask_saved(
                self.assistant, user.name, session["conversation"] or NEW, question, k=int(k),
                doc_ids=doc_ids or [], date_from=(date_from or "").strip(), date_to=(date_to or "").strip(),
            )
            for delta in stream:
                text += delta
                messages[-1] = {"role": "assistant", "content": render_answer(text, turn)}
                yield messages, gr.skip(), "", session, gr.skip()
            answer = stream.result()
        except AssistantError as exc:
            messages[-1] = {"role": "assistant", "content": escape_markdown(f"Error: {exc}")}
            yield messages, gr.skip(), "", session, gr.skip()
            return
        messages[-1] = {"role": "assistant", "content": render_answer(answer.answer, answer.turn, answer.short)}
        session["conversation"] = answer.conversation
        session["answers"].append(_record(len(messages) - 1, question, answer))
        yield messages, _sources(session), "", session, self._listing(user.name, None, answer.conversation)

    def open(self, conversation: str | None, session: dict[str, Any],
             request: gr.Request = None) -> tuple[Any, ...]:
        """Show a saved conversation: its turns in the chat, their sources, its title."""
        if not conversation:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), ""
        try:
            saved = self.saved.get(user_of(self.assistant, request).name, conversation)
        except AssistantError as exc:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), escape_markdown(str(exc))
        messages: list[dict[str, Any]] = []
        session = {**EMPTY_SESSION, "conversation": saved["id"], "answers": []}
        for turn in saved["turns"]:
            answer = Answer.from_dict(turn["answer"])
            messages += [{"role": "user", "content": escape_markdown(turn["question"])},
                         {"role": "assistant", "content": render_answer(answer.answer, answer.turn, answer.short)}]
            session["answers"].append(_record(len(messages) - 1, turn["question"], answer))
        return messages, _sources(session), session, saved["title"], ""

    def new(self) -> tuple[Any, ...]:
        """A new conversation: an empty chat, saved once its first question is answered."""
        return [], render_sources_panel([]), dict(EMPTY_SESSION), "", gr.update(value=None), ""

    def search(self, text: str, session: dict[str, Any], request: gr.Request = None) -> Any:
        """The list narrowed to conversations whose title, questions or answers hold `text`."""
        return self._listing(user_of(self.assistant, request).name, text, _copy_session(session)["conversation"])

    def listing(self, session: dict[str, Any], request: gr.Request = None) -> Any:
        """The list of the signed-in user's conversations (on page load)."""
        return self._listing(user_of(self.assistant, request).name, None, _copy_session(session)["conversation"])

    def _listing(self, owner: str, text: str | None, selected: str | None) -> Any:
        found = self.saved.list(owner, text)
        choices = [(f"{c.title} · {c.updated[:10]}", c.id) for c in found]
        return gr.update(choices=choices, value=selected if selected in {c.id for c in found} else None)

    def rename(self, title: str, session: dict[str, Any], request: gr.Request = None) -> tuple[Any, str]:
        """A new title for the open conversation."""
        conversation = _copy_session(session)["conversation"]
        if not conversation:
            return gr.skip(), "Ask a question first: a new conversation is saved with its first answer."
        try:
            owner = user_of(self.assistant, request).name
            renamed = self.saved.rename(owner, conversation, title)
        except AssistantError as exc:
            return gr.skip(), escape_markdown(f"Not renamed: {exc}")
        return self._listing(owner, None, conversation), f"Renamed to “{escape_markdown(renamed.title)}”."

    def ask_to_delete(self, session: dict[str, Any]) -> tuple[Any, str]:
        """Ask for confirmation before deleting the open conversation."""
        if not _copy_session(session)["conversation"]:
            return gr.update(visible=False), "No saved conversation is open."
        return gr.update(visible=True), ""

    def delete(self, session: dict[str, Any], request: gr.Request = None) -> tuple[Any, ...]:
        """Delete the open conversation (confirmed), then show a new one."""
        conversation = _copy_session(session)["conversation"]
        hidden = gr.update(visible=False)
        try:
            owner = user_of(self.assistant, request).name
            gone = self.saved.delete(owner, conversation)
        except AssistantError as exc:
            return (gr.skip(),) * 5 + (hidden, escape_markdown(f"Not deleted: {exc}"))
        chat, sources, fresh, title, _, _ = self.new()
        return (chat, sources, fresh, title, self._listing(owner, None, None), hidden,
                f"Deleted “{escape_markdown(gone.title)}”.")

    def feedback(self, session: dict[str, Any], like: gr.LikeData, request: gr.Request = None) -> tuple[Any, str]:
        """Thumbs up/down on an answer, kept with its saved turn."""
        session = _copy_session(session)
        index = like.index if isinstance(like.index, int) else like.index[0]
        for record in session["answers"]:
            if record["message_index"] == index:
                rating = "up" if like.liked is True else "down"
                try:
                    self.saved.feedback(user_of(self.assistant, request).name, session["conversation"],
                                        record["turn"], rating)
                except AssistantError as exc:
                    return session, escape_markdown(f"Not recorded: {exc}")
                session["rated"] = {"turn": record["turn"], "rating": rating}
                return session, f"Thanks: thumbs {rating} recorded for answer {record['turn']}. Add a comment below if you like."
        return session, "That message has no answer to rate."

    def comment(self, text: str, session: dict[str, Any], request: gr.Request = None) -> tuple[str, str]:
        """A comment on the answer rated last, kept with its rating."""
        session = _copy_session(session)
        rated = session["rated"]
        if rated is None:
            return text, "Rate an answer (thumbs up or down) first."
        try:
            self.saved.feedback(user_of(self.assistant, request).name, session["conversation"],
                                rated["turn"], rated["rating"], (text or "").strip() or None)
        except AssistantError as exc:
            return text, escape_markdown(f"Not recorded: {exc}")
        return "", f"Comment recorded for answer {rated['turn']}."


def _record(message_index: int, question: str, answer: Answer) -> dict[str, Any]:
    return {"message_index": message_index, "turn": answer.turn, "question": question, "rendered": answer}


def _sources(session: dict[str, Any]) -> str:
    return render_sources_panel([(a["turn"], a["question"], a["rendered"]) for a in session["answers"]])


def _copy_session(session: dict[str, Any] | None) -> dict[str, Any]:
    session = session or {}
    return {"conversation": session.get("conversation"), "answers": list(session.get("answers", [])),
            "rated": session.get("rated")}


def build_chat_tab(assistant: Assistant, session: gr.State, blocks: gr.Blocks) -> gr.Dropdown:
    """The Chat tab and its events, the open conversation kept in `session`; returns its report
    filter, which the Reports tab keeps in step with the indexed reports."""
    handlers = ChatUI(assistant)
    settings = assistant.settings
    with gr.Tab("Chat"), gr.Row():
        with gr.Column(scale=1, min_width=220, elem_id="conversations-panel"):
            new = gr.Button("New conversation", elem_id="new-conversation")
            search = gr.Textbox(show_label=False, placeholder="Search conversations", elem_id="conversation-search")
            listing = gr.Radio(choices=[], label="Conversations", elem_id="conversations")
            title = gr.Textbox(label="Title", elem_id="conversation-title")
            with gr.Row():
                rename = gr.Button("Rename", elem_id="rename-conversation", size="sm")
                delete = gr.Button("Delete", elem_id="delete-conversation", size="sm", variant="stop")
            with gr.Row(visible=False, elem_id="confirm-delete") as confirm:
                gr.Markdown("Delete this conversation and its answers?")
                yes = gr.Button("Delete", elem_id="confirm-delete-yes", size="sm", variant="stop")
                no = gr.Button("Keep", elem_id="confirm-delete-no", size="sm")
            status = gr.Markdown(elem_id="conversation-status")
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
            with gr.Row():
                comment = gr.Textbox(show_label=False, placeholder="A comment on the answer you rated (optional)",
                                     elem_id="feedback-comment", scale=5)
                send_comment = gr.Button("Send comment", elem_id="send-comment", scale=1)
        with gr.Column(scale=2):
            gr.Markdown("### Sources")
            sources = gr.HTML(render_sources_panel([]), elem_id="sources")

    ask_io: dict[str, Any] = {
        "fn": handlers.respond,
        "inputs": [question, chatbot, session, k, chat_reports, date_from, date_to],
        "outputs": [chatbot, sources, question, session, listing],
    }
    question.submit(**ask_io)
    send.click(**ask_io)
    listing.input(handlers.open, inputs=[listing, session], outputs=[chatbot, sources, session, title, status])
    fresh = [chatbot, sources, session, title, listing, status]
    new.click(handlers.new, outputs=fresh)
    chatbot.clear(handlers.new, outputs=fresh)
    search.change(handlers.search, inputs=[search, session], outputs=[listing])
    rename.click(handlers.rename, inputs=[title, session], outputs=[listing, status])
    delete.click(handlers.ask_to_delete, inputs=[session], outputs=[confirm, status])
    no.click(lambda: gr.update(visible=False), outputs=[confirm])
    yes.click(handlers.delete, inputs=[session], outputs=[chatbot, sources, session, title, listing, confirm, status])
    chatbot.like(handlers.feedback, inputs=[session], outputs=[session, feedback_status])
    send_comment.click(handlers.comment, inputs=[comment, session], outputs=[comment, feedback_status])
    blocks.load(handlers.listing, inputs=[session], outputs=[listing])
    return chat_reports
