"""The saved-conversation routes: `/v1/conversations[/{id}[/export]]` and `/v1/feedback`.

Every route acts for the caller (`request.state.user`, set by `auth.Gate`) on the caller's own
conversations: another user's is a 404, as one that does not exist.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from assistant.api.auth import request_user
from assistant.api.schemas import ConversationOut, ConversationsOut, ConversationTurnsOut, ErrorOut, FeedbackIn, TitleIn
from assistant.conversation_export import to_markdown
from assistant.core import Assistant
from assistant.users import User


def caller(request: Request) -> User:
    """The user asking, as the gate found them, allowed to keep conversations."""
    user = request_user(request)
    user.require("conversations", "keep conversations")
    return user


def add_conversation_routes(router: APIRouter, assistant: Assistant) -> None:
    """Add the conversation and feedback routes to the /v1 `router`."""
    saved = assistant.conversations
    missing = {404: {"model": ErrorOut}}

    @router.get("/conversations", response_model=ConversationsOut, tags=["conversations"])
    def listing(request: Request, q: str | None = Query(None, max_length=500,
                                                         description="only those whose title, questions "
                                                                     "or answers contain this")) -> dict[str, Any]:
        """Your conversations, newest first."""
        return {"conversations": [c.to_dict() for c in saved.list(caller(request).name, q)]}

    @router.get("/conversations/{conversation}", response_model=ConversationTurnsOut,
                tags=["conversations"], responses=missing)
    def one(request: Request, conversation: str) -> dict[str, Any]:
        """One of your conversations with its turns (each question and its whole Answer)."""
        return saved.get(caller(request).name, conversation)

    @router.patch("/conversations/{conversation}", response_model=ConversationOut,
                  tags=["conversations"], responses=missing)
    def rename(request: Request, conversation: str, body: TitleIn) -> dict[str, Any]:
        """A new title."""
        return saved.rename(caller(request).name, conversation, body.title).to_dict()

    @router.delete("/conversations/{conversation}", response_model=ConversationOut,
                   tags=["conversations"], responses=missing)
    def delete(request: Request, conversation: str) -> dict[str, Any]:
        """Remove one of your conversations and its turns."""
        return saved.delete(caller(request).name, conversation).to_dict()

    @router.get("/conversations/{conversation}/export", tags=["conversations"], response_class=Response,
                responses={200: {"content": {"text/markdown": {}, "application/json": {}}}, **missing})
    def export(request: Request, conversation: str,
               format: Literal["md", "json"] = Query("md", description="md: to read and send on; json: as saved")
               ) -> Response:
        """The conversation to keep or send: Markdown with every `[n]` resolved to its report,
        date, source and quoted sentence, or JSON as saved."""
        data = saved.get(caller(request).name, conversation)
        disposition = {"content-disposition": f'attachment; filename="conversation-{conversation}.{format}"'}
        if format == "json":
            return Response(json.dumps(data, ensure_ascii=False, indent=2), media_type="application/json",
                            headers=disposition)
        return PlainTextResponse(to_markdown(data), media_type="text/markdown; charset=utf-8",
                                 headers=disposition)

    @router.post("/feedback", tags=["conversations"], responses=missing)
    def feedback(request: Request, body: FeedbackIn) -> dict[str, Any]:
        """Thumbs up or down (and a comment) on a turn of one of your conversations."""
        given = saved.feedback(caller(request).name, body.conversation, body.turn, body.rating, body.comment)
        return {"conversation": body.conversation, "turn": body.turn, "feedback": given}
