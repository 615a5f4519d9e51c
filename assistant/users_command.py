"""`assistant users add|list|remove`: the users file (ASSISTANT_USERS, or --file) that the
server reads, again whenever it changes."""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.config import Settings
from assistant.plugins import Command
from assistant.users import ROLES, add_user, list_users, remove_user
from index.common.errors import ConfigError


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--file", type=Path, help="the users file (default: ASSISTANT_USERS)")
    actions = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = actions.add_parser("add", help="add a user, or give one a new token; prints the token once")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, required=True)
    actions.add_parser("list", help="the users and their roles")
    p = actions.add_parser("remove", help="remove a user (their token stops working)")
    p.add_argument("name")


def _run(settings: Settings, args: argparse.Namespace) -> int:
    path = args.file or settings.users
    if path is None:
        raise ConfigError("no users file: set ASSISTANT_USERS to its path, or give --file")
    if args.users_command == "add":
        token = add_user(path, args.name, args.role)
        print(f"added {args.name} ({args.role}) to {path}. Their token, shown only now:\n{token}")
    elif args.users_command == "list":
        for user in list_users(path):
            print(f"{user.name}  {user.role}")
    else:
        user = remove_user(path, args.name)
        print(f"removed {user.name} ({user.role}) from {path}")
    return 0


COMMAND = Command(help="add, list or remove the users the server knows", add_arguments=_add_arguments, run=_run)
