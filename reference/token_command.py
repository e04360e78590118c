"""``ssegate-reference token create --db PATH --workspace W``: a bearer token for calling by hand.

Creates the workspace if it does not exist and a new principal that is its member, then prints
one JSON object ``{"token": ..., "workspaceId": ...}`` on stdout. Works while the server runs on
the same file (SQLite WAL). The token is printed once and stored only as a SHA-256 digest.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import UTC, datetime
from typing import Any

from reference.config import DEFAULT_DB_PATH
from reference.database import MEMORY, connect_sync, run_transaction
from reference.identity.repository import create_member
from reference.ids import ID_PATTERN, is_valid_id
from reference.stream.clock import rfc3339

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    token = subparsers.add_parser("token", help="manage bearer tokens")
    actions = token.add_subparsers(dest="token_action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="create a member of a workspace and print its token as JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument(
        "--db", default=DEFAULT_DB_PATH, help=f"SQLite file (default: ./{DEFAULT_DB_PATH})"
    )
    create.add_argument("--workspace", required=True, help=f"workspace id, matching {ID_PATTERN}")
    create.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.db == MEMORY:
        print("error: --db :memory: would forget the token at once; name a file", file=sys.stderr)
        return EXIT_USAGE
    if not is_valid_id(args.workspace):
        print(f"error: --workspace must match {ID_PATTERN}", file=sys.stderr)
        return EXIT_USAGE
    try:
        connection = connect_sync(args.db)
        try:
            now = rfc3339(datetime.now(UTC))
            _, workspace_id, token = run_transaction(
                connection, lambda c: create_member(c, now, args.workspace)
            )
        finally:
            connection.close()
    except (sqlite3.Error, OSError) as exc:
        print(f"error: cannot write {args.db}: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(json.dumps({"token": token, "workspaceId": workspace_id}))
    return EXIT_OK
