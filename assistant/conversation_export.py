"""A saved conversation as Markdown a person can send on: each question, its answer (the short
answer first, where there is one) and every `[n]` resolved below it to the report's title, date,
source and the quoted sentence. Built from the saved Answers alone, so a conversation whose
report was deleted since still carries the quotes it had."""

from __future__ import annotations

from typing import Any

FORMATS = ("md", "json")


def to_markdown(conversation: dict[str, Any]) -> str:
    """`conversation` (as `Conversations.get` returns it) as Markdown."""
    lines = [f"# {_one_line(conversation['title']) or 'Conversation'}", "",
             f"Saved conversation `{conversation['id']}`, {conversation['created'][:10]} to "
             f"{conversation['updated'][:10]}, {len(conversation['turns'])} questions.", ""]
    for turn in conversation["turns"]:
        answer = turn["answer"]
        lines += [f"## {turn['turn']}. {_one_line(turn['question'])}", ""]
        short = answer.get("short")
        if short:
            lines += [f"**{_one_line(short['text'])}** [{short['n']}]", ""]
        lines += [answer.get("answer", "").strip(), ""]
        for c in answer.get("citations", []):
            facts = ", ".join(part for part in (c.get("date"), f"`{c['source']}`") if part)
            lines.append(f"[{c['n']}] {_one_line(c['title'])} ({facts}): \"{_one_line(c['quote'])}\"")
        if answer.get("citations"):
            lines.append("")
        feedback = turn.get("feedback")
        if feedback:
            comment = f": {_one_line(feedback['comment'])}" if feedback.get("comment") else ""
            lines += [f"*Feedback: {feedback['rating']}{comment}*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
