"""Who is using the UI: the signed-in user of a Gradio request (the gate in front of the app
let only known callers through; `LOCAL` when no token is configured), and what their role
shows."""

from __future__ import annotations

from typing import Any

import gradio as gr

from assistant.core import Assistant
from assistant.users import SESSION_COOKIE, ForbiddenError, User


def user_of(assistant: Assistant, request: gr.Request | None) -> User:
    """The user behind `request`; ForbiddenError when no one is signed in."""
    headers: Any = getattr(request, "headers", None) or {}
    cookies: Any = getattr(request, "cookies", None) or {}
    user = assistant.users.identify(headers.get("authorization"), cookies.get(SESSION_COOKIE))
    if user is None:
        raise ForbiddenError("sign in first")
    return user


def signed_in_line(user: User, enabled: bool) -> str:
    """The header's note of who is signed in (nothing when no token is configured)."""
    return f"Signed in as **{user.name}** ({user.role})." if enabled else ""
