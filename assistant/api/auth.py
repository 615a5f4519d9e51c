"""Who is asking, in front of everything that reads or changes reports: the users of the users
file and the admin of `ASSISTANT_API_TOKEN` (assistant/users.py).

`Gate` is ASGI middleware around the whole app, so it answers before any route, the mounted
UI or a request body is touched. It puts the caller (a `User`) in the request's state for the
routes and the UI to check their role against (`LOCAL`, an admin, when no token is configured).
With users or a token:
- `/v1/*` needs `Authorization: Bearer <token>`; without it a 401 JSON error, the body unread.
- the UI (every other path: the page, Gradio's `/gradio_api/*` queue, uploads and files) needs
  the session cookie set by `/login` (the user's name and an HMAC only the server can make), or
  the bearer header (scripts, `gradio_client`); a page
  request without it is sent to `/login`, anything else gets a 401.
- `/health`, `/login` and the API docs (`/docs`, `/docs-static/*`, `/openapi.json`) are open:
  they show no report.
"""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import parse_qs

from assistant.users import SESSION_COOKIE, User, Users

LOGIN_PATH = "/login"
OPEN_PATHS = frozenset({"/health", "/openapi.json", "/docs", LOGIN_PATH})
OPEN_PREFIXES = ("/docs-static/",)
MAX_LOGIN_BODY = 4096
TOKEN_HINT = "missing or wrong token: send 'Authorization: Bearer <token>'"

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Report Assistant: sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:26em;margin:4em auto;padding:0 1em}}
input,button{{font-size:1em;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}}
.error{{color:#b00020}}</style></head>
<body><h1>Report Assistant</h1>
<form method="post" action="{action}">
<label for="token">Your access token</label>
<input id="token" name="token" type="password" autocomplete="current-password" autofocus required>
<button id="sign-in" type="submit">Sign in</button></form>
{error}</body></html>
"""


def _cookie(headers: dict[bytes, bytes], name: str) -> str | None:
    for part in headers.get(b"cookie", b"").split(b";"):
        key, _, value = part.strip().partition(b"=")
        if key == name.encode():
            return value.decode("utf-8", errors="replace")
    return None


def request_user(request: Any) -> User:
    """The caller of a request (a Starlette `Request`), as `Gate` found them."""
    return request.state.user


class Gate:
    """ASGI middleware: with users or a token configured, nothing but the open paths answers
    without a known caller; every request carries its caller in `scope["state"]["user"]`."""

    def __init__(self, app: Any, users: Users) -> None:
        self.app = app
        self.users = users

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        headers = dict(scope.get("headers") or ())
        authorization = headers.get(b"authorization", b"").decode("utf-8", errors="replace") or None
        user = self.users.identify(authorization, _cookie(headers, SESSION_COOKIE))
        scope.setdefault("state", {})["user"] = user
        if user is not None or path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            if path == LOGIN_PATH and scope["type"] == "http" and self.users.enabled:
                await self._login(scope, receive, send)
            else:
                await self.app(scope, receive, send)
        elif path.startswith("/v1/") or path == "/v1":
            await _send(send, 401, _json(TOKEN_HINT), {"www-authenticate": "Bearer"})
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        elif scope["method"] in ("GET", "HEAD") and b"text/html" in headers.get(b"accept", b""):
            await _send(send, 303, b"", {"location": LOGIN_PATH})
        else:
            await _send(send, 401, _json(f"sign in at {LOGIN_PATH}, or {TOKEN_HINT}"),
                        {"www-authenticate": "Bearer"})

    async def _login(self, scope: Any, receive: Any, send: Any) -> None:
        """GET: the sign-in form. POST `token=...`: the session cookie and back to the UI."""
        if scope["method"] != "POST":
            await _send(send, 200, _page(), {"content-type": "text/html; charset=utf-8"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_LOGIN_BODY:
                await _send(send, 413, _json("the sign-in form is too large"))
                return
        given = parse_qs(body.decode("utf-8", errors="replace")).get("token", [""])[0]
        session = self.users.session_for(given) if given.strip() else None
        if session is None:
            await _send(send, 401, _page("Wrong token."),
                        {"content-type": "text/html; charset=utf-8"})
            return
        cookie = f"{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
        await _send(send, 303, b"", {"location": "/", "set-cookie": cookie})


def _page(error: str = "") -> bytes:
    note = f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else ""
    return _LOGIN_PAGE.format(action=LOGIN_PATH, error=note).encode()


def _json(message: str) -> bytes:
    return json.dumps({"error": message}).encode()


async def _send(send: Any, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    headers = {"content-type": "application/json", **(headers or {})}
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
