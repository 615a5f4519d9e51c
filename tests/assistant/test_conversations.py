"""Saved conversations (SQLite under ASSISTANT_HOME) and the users file, on their own."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.conversation_export import to_markdown
from assistant.conversations import Conversations
from assistant.users import LOCAL, ForbiddenError, User, Users, add_user, list_users, read_users, remove_user
from index.common.errors import ConfigError, InputError, NotFoundError, StoreError

pytestmark = pytest.mark.fast

CITATION = {"n": 1, "doc_id": "d1", "title": "Base attacks", "source": "attacks.txt", "date": "2022-01-05",
            "start": 10, "end": 40, "quote": "The Pentagon blamed Iran-backed militias.", "score": 0.9}


def _answer(text: str = "Militias backed by Iran [1].", short: dict | None = None) -> dict:
    return {"answer": text, "refused": False, "short": short, "citations": [CITATION], "passages": [],
            "timings_ms": {}, "stats": {}}


def test_turns_are_saved_in_order_and_titled_by_the_first_question(tmp_path: Path) -> None:
    saved = Conversations(tmp_path / "c.sqlite3")
    cid = saved.create("alice")
    assert saved.save_turn("alice", cid, "Who did the Pentagon blame?", "Who did the Pentagon blame?", _answer()) == 1
    assert saved.save_turn("alice", cid, "And when?", "When did the Pentagon blame militias?", _answer("In January [1].")) == 2
    got = Conversations(tmp_path / "c.sqlite3").get("alice", cid)  # another connection: it is on disk
    assert got["title"] == "Who did the Pentagon blame?" and [t["turn"] for t in got["turns"]] == [1, 2]
    assert got["turns"][1]["standalone"] == "When did the Pentagon blame militias?"
    assert got["turns"][0]["answer"]["conversation"] == cid and got["turns"][0]["answer"]["turn"] == 1
    assert saved.history("alice", cid)[-1] == {"role": "assistant", "content": "In January [1]."}


def test_each_user_sees_only_their_own(tmp_path: Path) -> None:
    saved = Conversations(tmp_path / "c.sqlite3")
    mine = saved.create("alice", "Alice's")
    saved.create("bob", "Bob's")
    assert [c.title for c in saved.list("alice")] == ["Alice's"]
    for act in (lambda: saved.get("bob", mine), lambda: saved.delete("bob", mine),
                lambda: saved.rename("bob", mine, "x"), lambda: saved.save_turn("bob", mine, "q", "q", _answer()),
                lambda: saved.get("alice", "no-such-id")):
        with pytest.raises(NotFoundError, match="no conversation"):
            act()
    assert saved.summary("alice", mine).title == "Alice's"  # nothing changed


def test_list_is_newest_first_searchable_renamed_and_deleted(tmp_path: Path) -> None:
    saved = Conversations(tmp_path / "c.sqlite3")
    first, second = saved.create("a"), saved.create("a")
    saved.save_turn("a", first, "About the drones", "About the drones", _answer("Two drones [1]."))
    saved.save_turn("a", second, "About the rockets", "About the rockets", _answer("100% of them [1]."))
    assert [c.id for c in saved.list("a")] == [second, first]
    assert [c.id for c in saved.list("a", "DRONES")] == [first]  # questions, case-insensitive
    assert [c.id for c in saved.list("a", "100%")] == [second]  # answers; % is literal
    assert saved.list("a", "_") == []
    assert saved.rename("a", first, "  Drones  ").title == "Drones"
    with pytest.raises(InputError, match="title must be a non-empty string"):
        saved.rename("a", first, "   ")
    assert saved.delete("a", first).turns == 1
    assert [c.id for c in saved.list("a")] == [second]


def test_feedback_is_attached_to_its_turn(tmp_path: Path) -> None:
    saved = Conversations(tmp_path / "c.sqlite3")
    cid = saved.create("a")
    saved.save_turn("a", cid, "q", "q", _answer())
    saved.feedback("a", cid, 1, "up")
    saved.feedback("a", cid, 1, "down", "wrong source")
    (turn,) = saved.get("a", cid)["turns"]
    assert turn["feedback"]["rating"] == "down" and turn["feedback"]["comment"] == "wrong source"
    with pytest.raises(NotFoundError, match="no turn 2"):
        saved.feedback("a", cid, 2, "up")
    with pytest.raises(InputError, match="rating must be 'up' or 'down'"):
        saved.feedback("a", cid, 1, "meh")


def test_ten_writers_at_once_lose_no_turn(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    ids = [Conversations(path).create(f"user{i}") for i in range(10)]

    def write(i: int) -> None:
        own = Conversations(path)  # its own connection, as another process would have
        for n in range(20):
            own.save_turn(f"user{i}", ids[i], f"question {n}", f"question {n}", _answer())

    threads = [threading.Thread(target=write, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    saved = Conversations(path)
    for i, cid in enumerate(ids):
        turns = saved.get(f"user{i}", cid)["turns"]
        assert [t["turn"] for t in turns] == list(range(1, 21))
        assert [t["question"] for t in turns] == [f"question {n}" for n in range(20)]


def test_a_corrupt_database_is_reported_and_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"not a database " * 100)
    with pytest.raises(StoreError, match=f"{path}.*unreadable.*left as it is"):
        Conversations(path)
    assert path.read_bytes() == b"not a database " * 100


def test_the_markdown_export_resolves_every_marker(tmp_path: Path) -> None:
    saved = Conversations(tmp_path / "c.sqlite3")
    cid = saved.create("a")
    saved.save_turn("a", cid, "Who did the Pentagon blame?", "Who did the Pentagon blame?",
                    _answer(short={"text": "Iran-backed militias", "n": 1, "start": 30, "end": 50}))
    saved.feedback("a", cid, 1, "up", "clear")
    text = to_markdown(saved.get("a", cid))
    assert text.startswith("# Who did the Pentagon blame?")
    assert "**Iran-backed militias** [1]\n\nMilitias backed by Iran [1]." in text
    assert '[1] Base attacks (2022-01-05, `attacks.txt`): "The Pentagon blamed Iran-backed militias."' in text
    assert "*Feedback: up: clear*" in text


def test_roles_grant_their_rights() -> None:
    reader, evaluator, admin = User("r", "reader"), User("e", "evaluator"), User("a", "admin")
    assert reader.may("ask") and reader.may("conversations") and not reader.may("evaluations")
    assert evaluator.may("evaluations") and not evaluator.may("documents.change")
    assert admin.may("documents.change") and admin.may("evaluations.all") and LOCAL.may("documents.change")
    with pytest.raises(ForbiddenError, match=r"r \(reader\) may not upload reports"):
        reader.require("documents.change", "upload reports")


def test_the_users_file_holds_hashes_and_is_read_again_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    token = add_user(path, "alice", "reader")
    assert token not in path.read_text() and oct(path.stat().st_mode)[-3:] == "600"
    users = Users(path)
    assert users.by_token(token) == User("alice", "reader") and users.by_token(token + "x") is None
    session = users.session_for(token)
    assert session and users.by_session(session) == User("alice", "reader")
    assert users.identify(f"Bearer {token}", None) == User("alice", "reader")
    second = add_user(path, "bob", "admin")
    os.utime(path, ns=(1, 1))  # a change within the clock's tick is still seen: size and time differ
    assert users.by_token(second) == User("bob", "admin")
    remove_user(path, "alice")
    assert users.by_token(token) is None and users.by_session(session) is None
    assert list_users(path) == [User("bob", "admin")]
    path.write_text(path.read_text() + "\n[users.carol\n")  # a typo: the users before stay
    assert users.by_token(second) == User("bob", "admin")


def test_a_users_file_that_does_not_parse_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text('[users.alice]\nrole = "reader"\ntoken_sha256 = "abc\n')
    with pytest.raises(ConfigError, match=rf"users file {path}: not valid TOML: .*line 3"):
        Users(path)
    path.write_text('[users.alice]\nrole = "king"\ntoken_sha256 = "' + "0" * 64 + '"\n')
    with pytest.raises(ConfigError, match="user 'alice': role must be one of reader, evaluator, admin"):
        read_users(path)
    with pytest.raises(InputError, match="role must be one of"):
        add_user(tmp_path / "other.toml", "x", "king")


def test_without_users_or_a_token_everyone_is_the_local_admin(tmp_path: Path) -> None:
    users = Users(None, None)
    assert not users.enabled and users.identify(None, None) == LOCAL
    token_only = Users(None, "secret")
    assert token_only.identify("Bearer secret", None) == User("admin", "admin")
    assert token_only.identify("Bearer wrong", None) is None and token_only.identify(None, None) is None


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    Conversations(tmp_path / "c.sqlite3").create("a")
    (mode,) = sqlite3.connect(tmp_path / "c.sqlite3").execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
