"""`assistant conversations list|export|delete`: the conversations saved under ASSISTANT_HOME by
`assistant chat` (the terminal's, owned by the local user; the server keeps each user's own)."""

from __future__ import annotations

import argparse
import json

from assistant.config import Settings
from assistant.conversation_export import FORMATS, to_markdown
from assistant.conversations import Conversations
from assistant.plugins import Command
from assistant.users import LOCAL


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default=LOCAL.name,
                        help=f"whose conversations (default {LOCAL.name}: the terminal's, and everyone's "
                             "when the server asks for no token)")
    actions = parser.add_subparsers(dest="conversations_command", required=True, metavar="ACTION")
    p = actions.add_parser("list", help="saved conversations, newest first")
    p.add_argument("--search", metavar="TEXT", help="only those whose title, questions or answers contain TEXT")
    p.add_argument("--json", action="store_true")
    p = actions.add_parser("export", help="a conversation as Markdown (citations resolved) or JSON")
    p.add_argument("id")
    p.add_argument("--format", choices=FORMATS, default="md")
    p = actions.add_parser("delete", help="remove a saved conversation")
    p.add_argument("id")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    saved = Conversations(settings.conversations_path)
    if args.conversations_command == "list":
        found = saved.list(args.user, args.search)
        if args.json:
            print(json.dumps({"conversations": [c.to_dict() for c in found]}, indent=2))
        for c in [] if args.json else found:
            print(f"{c.id}  {c.updated[:16].replace('T', ' ')}  {c.turns:3} turns  {c.title}")
        return 0
    if args.conversations_command == "export":
        data = saved.get(args.user, args.id)
        print(json.dumps(data, ensure_ascii=False, indent=2) if args.format == "json" else to_markdown(data), end="")
        return 0
    gone = saved.delete(args.user, args.id)
    print(f"deleted conversation {gone.id} ({gone.turns} turns): {gone.title}")
    return 0


COMMAND = Command(help="list, export or delete saved conversations", add_arguments=_add_arguments, run=_run)
