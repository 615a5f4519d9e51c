"""The `assistant` command as a user runs it: real processes, JSON output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, SAMPLE_REPORTS

ASSISTANT = Path(sys.executable).parent / "assistant"


def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ASSISTANT_HOME": str(home)}
    return subprocess.run(
        [str(ASSISTANT), *args], capture_output=True, text=True, env=env, cwd=ROOT,
        input=stdin, timeout=300,
    )


def test_ingest_ask_retrieve_docs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = run(home, "ingest", str(SAMPLE_REPORTS), "--json")
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert set(result) == {"added", "updated", "unchanged", "failed", "duplicates", "documents", "chunks"}
    assert len(result["added"]) == 1 and result["documents"] == 1 and result["chunks"] >= 1

    again = json.loads(run(home, "ingest", str(SAMPLE_REPORTS), "--json").stdout)
    assert again["added"] == [] and len(again["unchanged"]) == 1

    asked = run(home, "ask", "Who did the Pentagon blame?", "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert set(answer) == {"answer", "refused", "short", "citations", "passages", "timings_ms", "stats"}
    assert not answer["refused"] and "Iran" in answer["answer"]
    citation = answer["citations"][0]
    assert set(citation) == {"n", "doc_id", "title", "source", "date", "start", "end", "quote", "score"}
    text = (SAMPLE_REPORTS / "iraq-syria-base-attacks.txt").read_text()
    assert text[citation["start"]:citation["end"]] == citation["quote"]

    # The short answer first, with its marker, then the answer and its sources.
    short = json.loads(run(home, "ask", "Who is the CENTCOM chief?", "--json").stdout)["short"]
    printed = run(home, "ask", "Who is the CENTCOM chief?").stdout.splitlines()
    assert short is not None and printed[0] == f"{short['text']} [{short['n']}]" and printed[1] == ""

    plain = run(home, "ask", "Who won the 2022 World Cup?")
    assert plain.returncode == 0 and "don't say" in plain.stdout

    retrieved = json.loads(run(home, "retrieve", "drone attack Anbar", "--k", "2", "--json").stdout)
    assert len(retrieved["passages"]) == 2
    assert set(retrieved["passages"][0]) == {
        "doc_id", "title", "source", "date", "chunk_id", "start", "end", "text", "score"}

    docs = json.loads(run(home, "docs", "list", "--json").stdout)["documents"]
    assert len(docs) == 1
    deleted = run(home, "docs", "delete", docs[0]["doc_id"])
    assert deleted.returncode == 0
    assert json.loads(run(home, "docs", "list", "--json").stdout)["documents"] == []
    missing = run(home, "docs", "delete", "nope")
    assert missing.returncode == 1 and "nope" in missing.stderr


def test_ingest_exit_code_2_when_some_files_fail(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "ok.txt").write_text("The airbase was attacked by drones.")
    (folder / "broken.docx").write_bytes(b"not a docx")
    done = run(tmp_path / "home", "ingest", str(folder), "--json")
    assert done.returncode == 2
    result = json.loads(done.stdout)
    assert len(result["added"]) == 1
    assert result["failed"][0]["path"].endswith("broken.docx") and result["failed"][0]["error"]


def test_bad_setting_is_a_clear_fatal_error(tmp_path: Path) -> None:
    done = run(tmp_path / "home", "--llm", "gpt-banana", "ask", "hi")
    assert done.returncode == 1
    assert "gpt-banana" in done.stderr and "extractive" in done.stderr
    assert "Traceback" not in done.stderr


def test_chat_follow_up_in_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    run(home, "ingest", str(SAMPLE_REPORTS))
    chat = run(home, "chat", stdin="Who is the CENTCOM chief?\nWhat does he expect?\n\n")
    assert chat.returncode == 0, chat.stderr
    replies = [line for line in chat.stdout.splitlines() if line.startswith(("you> assistant>", "assistant>"))]
    assert len(replies) == 2
    assert "increase in attacks" in replies[1]

    # The chat was saved: listed, exported with its citations resolved, and resumed.
    (saved,) = json.loads(run(home, "conversations", "list", "--json").stdout)["conversations"]
    assert (saved["title"], saved["turns"]) == ("Who is the CENTCOM chief?", 2)
    assert f"assistant chat --resume {saved['id']}" in chat.stdout
    markdown = run(home, "conversations", "export", saved["id"]).stdout
    assert markdown.startswith("# Who is the CENTCOM chief?") and "## 2. What does he expect?" in markdown
    assert '[1] ' in markdown and "iraq-syria-base-attacks.txt" in markdown
    resumed = run(home, "chat", "--resume", saved["id"], stdin="Does he expect more attacks?\n\n")
    assert resumed.returncode == 0 and "you> What does he expect?" in resumed.stdout  # the saved turns shown
    turns = json.loads(run(home, "conversations", "export", saved["id"], "--format", "json").stdout)["turns"]
    assert [t["turn"] for t in turns] == [1, 2, 3]
    assert run(home, "conversations", "list", "--search", "more attacks").stdout.startswith(saved["id"])
    gone = run(home, "chat", "--resume", "0000000000000000", stdin="\n")
    assert gone.returncode == 1 and "no conversation with id '0000000000000000'" in gone.stderr
    assert "deleted conversation" in run(home, "conversations", "delete", saved["id"]).stdout
    assert json.loads(run(home, "conversations", "list", "--json").stdout)["conversations"] == []


def test_users_are_added_listed_and_removed(tmp_path: Path) -> None:
    users = tmp_path / "users.toml"
    added = run(tmp_path / "home", "users", "--file", str(users), "add", "rita", "--role", "reader")
    token = added.stdout.strip().splitlines()[-1]
    assert added.returncode == 0 and len(token) >= 32 and token not in users.read_text()
    assert run(tmp_path / "home", "users", "--file", str(users), "list").stdout.split() == ["rita", "reader"]
    assert run(tmp_path / "home", "users", "--file", str(users), "remove", "rita").returncode == 0
    assert run(tmp_path / "home", "users", "--file", str(users), "list").stdout == ""
    missing = run(tmp_path / "home", "users", "list")
    assert missing.returncode == 1 and "ASSISTANT_USERS" in missing.stderr


def test_ingest_date_flag_sidecar_and_docs_list_show_date_and_source(tmp_path: Path) -> None:
    home, folder = tmp_path / "home", tmp_path / "in"
    folder.mkdir()
    (folder / "story.txt").write_text("Storm cuts power\nThe storm hit on March 3, 2023, in Dunmore.")
    (folder / "wire.txt").write_text("Council meets\nDUNMORE, March 4, 2023 (AP) - The council met.")
    (folder / "wire.txt.meta.json").write_text('{"title": "Dunmore council meets"}')

    bad = run(home, "ingest", str(folder), "--date", "2023-02-30")
    assert bad.returncode == 1 and "--date must be a date YYYY-MM-DD, got '2023-02-30'" in bad.stderr
    assert "Traceback" not in bad.stderr

    done = run(home, "ingest", str(folder / "story.txt"), "--date", "2023-03-05", "--json")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) == {"added", "updated", "unchanged", "failed", "duplicates", "documents",
                                            "chunks"}
    # A shell glob names the sidecar too: it is read with its report, not reported as a file.
    globbed = json.loads(run(home, "ingest", *sorted(str(p) for p in folder.iterdir()), "--json").stdout)
    assert len(globbed["added"]) == 1 and globbed["failed"] == [] and len(globbed["unchanged"]) == 1

    docs = {Path(d["source"]).name: d for d in json.loads(run(home, "docs", "list", "--json").stdout)["documents"]}
    assert {name: (d["date"], d["date_source"]) for name, d in docs.items()} == {
        "story.txt": ("2023-03-05", "given"), "wire.txt": ("2023-03-04", "dateline")}
    assert list(docs["wire.txt"])[3:5] == ["date", "date_source"] and docs["wire.txt"]["title"] == "Dunmore council meets"
    listed = run(home, "docs", "list").stdout
    assert "2023-03-05 (given)" in listed and "2023-03-04 (dateline)" in listed


def test_ingest_takes_the_collection_after_the_command(tmp_path: Path) -> None:
    """docs/interface.md: `assistant ingest PATH... [--collection C]`; the global form works as well."""
    home = tmp_path / "home"
    done = run(home, "ingest", str(SAMPLE_REPORTS), "--collection", "other", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["documents"] == 1
    listed = json.loads(run(home, "--collection", "other", "docs", "list", "--json").stdout)
    assert len(listed["documents"]) == 1
    assert json.loads(run(home, "docs", "list", "--json").stdout)["documents"] == []

