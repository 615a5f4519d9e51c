"""Saved conversations: each turn (the question, the standalone question it became, the whole
Answer with its citations, feedback) in SQLite under `ASSISTANT_HOME` (Python's own `sqlite3`,
WAL mode, one write transaction a turn). Kept beside the embedded store and also when the
reports live in a Chroma server: conversations are the user's, not the index's.

Each conversation belongs to the user who made it; asking for another user's is a
NotFoundError (a 404), the same as for one that does not exist, so ids reveal nothing.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Iterator

from index.common.errors import InputError, NotFoundError, StoreError

TITLE_MAX_CHARS = 80
RATINGS = ("up", "down")
COMMENT_MAX_CHARS = 2000
BUSY_TIMEOUT_S = 30.0  # ten clients saving at once wait for each other's one short transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    -- Raised on each new turn: "newest first" even for two turns saved within one clock tick.
    touched INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_by_owner ON conversations (owner, touched);
CREATE TABLE IF NOT EXISTS turns (
    conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn INTEGER NOT NULL,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    answer_json TEXT NOT NULL,
    feedback_json TEXT,
    created TEXT NOT NULL,
    PRIMARY KEY (conversation, turn)
);
"""


@dataclass(frozen=True)
class Summary:
    """A conversation as listed: `{"id", "title", "created", "updated", "turns"}`."""

    id: str
    title: str
    created: str
    updated: str
    turns: int

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape."""
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "turns": self.turns}


@dataclass(frozen=True)
class SavedTurn:
    """One saved turn: the question as asked, the standalone question it became, the Answer's
    JSON (as the API returned it) and the feedback given, if any."""

    turn: int
    question: str
    standalone: str
    answer: dict[str, Any]
    feedback: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """The interface's JSON shape: `{"turn", "question", "answer", "feedback"?}` (and the
        standalone question)."""
        out = {"turn": self.turn, "question": self.question, "standalone": self.standalone,
               "answer": self.answer}
        if self.feedback is not None:
            out["feedback"] = self.feedback
        return out


class Conversations:
    """The saved conversations of one `ASSISTANT_HOME`, shared by every thread of a process and
    by several processes (SQLite's own locking; WAL lets readers go on while one writes)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        try:
            self._connection().executescript(_SCHEMA)  # idempotent; runs as its own transaction
            self._check()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"the conversations database {self.path} is unreadable ({exc}); "
                             "it was left as it is: move it away to start a new one") from None

    def _connection(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            # One connection a thread: sqlite3 connections are not to be shared across threads.
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at each checkpoint, safe
            self._local.db = db
        return db

    def _check(self) -> None:
        (verdict,) = self._connection().execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise sqlite3.DatabaseError(verdict)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (BEGIN IMMEDIATE): no two writers interleave."""
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def create(self, owner: str, title: str = "") -> str:
        """A new, empty conversation of `owner`; its id."""
        conversation = secrets.token_hex(8)
        now = _now()
        with self._write() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?, "
                       "(SELECT COALESCE(MAX(touched), 0) + 1 FROM conversations))",
                       (conversation, owner, _title(title), now, now))
        return conversation

    def save_turn(self, owner: str, conversation: str, question: str, standalone: str,
                  answer: dict[str, Any]) -> int:
        """Append a turn to `owner`'s conversation in one transaction; its number (1, 2, ...).
        The first question titles a conversation that has no title yet."""
        now = _now()
        with self._write() as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ? AND owner = ?",
                             (conversation, owner)).fetchone()
            if row is None:
                raise _not_found(conversation)
            (last,) = db.execute("SELECT COALESCE(MAX(turn), 0) FROM turns WHERE conversation = ?",
                                 (conversation,)).fetchone()
            turn = int(last) + 1
            db.execute("INSERT INTO turns VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                       (conversation, turn, question, standalone, str(answer.get("answer", "")),
                        json.dumps({**answer, "conversation": conversation, "turn": turn}), now))
            db.execute("UPDATE conversations SET updated = ?, title = ?, "
                       "touched = (SELECT MAX(touched) + 1 FROM conversations) WHERE id = ?",
                       (now, row[0] or _title(question), conversation))
        return turn

    def list(self, owner: str, text: str | None = None) -> list[Summary]:
        """`owner`'s conversations, newest first; with `text`, those whose title, questions or
        answers contain it (case-insensitive)."""
        query = ("SELECT c.id, c.title, c.created, c.updated, COUNT(t.turn) FROM conversations c "
                 "LEFT JOIN turns t ON t.conversation = c.id WHERE c.owner = ?")
        params: list[Any] = [owner]
        if text is not None and text.strip():
            like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            query += (" AND (c.title LIKE ? ESCAPE '\\' OR EXISTS (SELECT 1 FROM turns s WHERE "
                      "s.conversation = c.id AND (s.question LIKE ? ESCAPE '\\' OR s.answer LIKE ? ESCAPE '\\')))")
            params += [like, like, like]
        query += " GROUP BY c.id ORDER BY c.touched DESC"
        return [Summary(*row) for row in self._connection().execute(query, params)]

    def summary(self, owner: str, conversation: str) -> Summary:
        """One of `owner`'s conversations as listed; NotFoundError otherwise."""
        row = self._connection().execute(
            "SELECT c.id, c.title, c.created, c.updated, COUNT(t.turn) FROM conversations c LEFT JOIN "
            "turns t ON t.conversation = c.id WHERE c.id = ? AND c.owner = ? GROUP BY c.id",
            (conversation, owner)).fetchone()
        if row is None:
            raise _not_found(conversation)
        return Summary(*row)

    def turns(self, owner: str, conversation: str) -> list[SavedTurn]:
        """The turns of one of `owner`'s conversations, in order; NotFoundError otherwise."""
        self.summary(owner, conversation)
        rows = self._connection().execute(
            "SELECT turn, question, standalone, answer_json, feedback_json FROM turns "
            "WHERE conversation = ? ORDER BY turn", (conversation,))
        return [SavedTurn(turn, question, standalone, json.loads(answer),
                          json.loads(feedback) if feedback else None)
                for turn, question, standalone, answer, feedback in rows]

    def get(self, owner: str, conversation: str) -> dict[str, Any]:
        """`{"id", "title", "created", "updated", "turns": [turn...]}`; NotFoundError otherwise."""
        summary = self.summary(owner, conversation)
        return {**summary.to_dict(), "turns": [t.to_dict() for t in self.turns(owner, conversation)]}

    def history(self, owner: str, conversation: str) -> list[dict[str, str]]:
        """The saved turns as the history a follow-up is condensed with."""
        out: list[dict[str, str]] = []
        for turn in self.turns(owner, conversation):
            out += [{"role": "user", "content": turn.question},
                    {"role": "assistant", "content": str(turn.answer.get("answer", ""))}]
        return out

    def rename(self, owner: str, conversation: str, title: Any) -> Summary:
        """A new title (not empty: InputError naming `title`); NotFoundError as `summary`."""
        if not isinstance(title, str) or not title.strip():
            raise InputError("title must be a non-empty string")
        with self._write() as db:
            changed = db.execute("UPDATE conversations SET title = ? WHERE id = ? AND owner = ?",
                                 (_title(title), conversation, owner)).rowcount
        if not changed:
            raise _not_found(conversation)
        return self.summary(owner, conversation)

    def delete(self, owner: str, conversation: str) -> Summary:
        """Remove one of `owner`'s conversations with its turns; what it was."""
        summary = self.summary(owner, conversation)
        with self._write() as db:
            db.execute("DELETE FROM turns WHERE conversation = ?", (conversation,))
            db.execute("DELETE FROM conversations WHERE id = ? AND owner = ?", (conversation, owner))
        return summary

    def feedback(self, owner: str, conversation: str, turn: Any, rating: Any,
                 comment: Any = None) -> dict[str, Any]:
        """Attach thumbs up/down (and an optional comment) to a turn, replacing earlier feedback."""
        if isinstance(turn, bool) or not isinstance(turn, int):
            raise InputError("turn must be a whole number")
        if rating not in RATINGS:
            raise InputError(f"rating must be 'up' or 'down', got {rating!r}")
        if comment is not None and (not isinstance(comment, str) or len(comment) > COMMENT_MAX_CHARS):
            raise InputError(f"comment must be a string of at most {COMMENT_MAX_CHARS} characters")
        given = {"rating": rating, "at": _now(), **({"comment": comment} if comment else {})}
        self.summary(owner, conversation)
        with self._write() as db:
            changed = db.execute("UPDATE turns SET feedback_json = ? WHERE conversation = ? AND turn = ?",
                                 (json.dumps(given), conversation, turn)).rowcount
        if not changed:
            raise NotFoundError(f"conversation {conversation!r} has no turn {turn}")
        return given


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _title(text: str) -> str:
    words = " ".join(str(text).split())
    return words if len(words) <= TITLE_MAX_CHARS else words[: TITLE_MAX_CHARS - 1].rstrip() + "…"


def _not_found(conversation: str) -> NotFoundError:
    return NotFoundError(f"no conversation with id {conversation!r}")
