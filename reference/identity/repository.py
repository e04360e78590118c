"""Workspaces, principals, memberships and token digests in SQLite. All identity SQL lives here."""

from __future__ import annotations

import sqlite3

from reference.database import Database
from reference.identity.tokens import digest, new_token
from reference.ids import new_id
from reference.stream import Clock
from reference.stream.clock import rfc3339


def create_member(
    connection: sqlite3.Connection, now: str, workspace_id: str | None
) -> tuple[str, str, str]:
    """Create a principal (and its workspace, if ``workspace_id`` is given and new) plus a token.

    Returns ``(principal_id, workspace_id or "", token)``. Synchronous: the CLI uses it too.
    """
    principal_id = new_id("pr")
    token = new_token()
    connection.execute("INSERT INTO principals (id, created_at) VALUES (?, ?)", (principal_id, now))
    connection.execute(
        "INSERT INTO tokens (token_sha256, principal_id, created_at) VALUES (?, ?, ?)",
        (digest(token), principal_id, now),
    )
    if workspace_id is not None:
        connection.execute(
            "INSERT OR IGNORE INTO workspaces (id, created_at) VALUES (?, ?)", (workspace_id, now)
        )
        connection.execute(
            "INSERT INTO memberships (workspace_id, principal_id) VALUES (?, ?)",
            (workspace_id, principal_id),
        )
    return principal_id, workspace_id or "", token


class IdentityRepository:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    async def principal_for_digest(
        self, token_digest: str, workspace_id: str | None
    ) -> tuple[str, str, bool] | None:
        """``(principal_id, stored digest, is member of workspace_id)`` for a live token (not
        revoked, not expired), or None. One statement: a stream request costs one read here."""
        now = rfc3339(self._clock.utcnow())

        def work(connection: sqlite3.Connection) -> tuple[str, str, bool] | None:
            row = connection.execute(
                "SELECT t.principal_id, t.token_sha256, EXISTS (SELECT 1 FROM memberships AS m "
                "WHERE m.principal_id = t.principal_id AND m.workspace_id = ?) "
                "FROM tokens AS t WHERE t.token_sha256 = ? "
                "AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)",
                (workspace_id, token_digest, now),
            ).fetchone()
            return None if row is None else (str(row[0]), str(row[1]), bool(row[2]))

        return await self._db.read(work)

    async def workspace_exists(self, workspace_id: str) -> bool:
        def work(connection: sqlite3.Connection) -> bool:
            row = connection.execute(
                "SELECT 1 FROM workspaces WHERE id = ?", (workspace_id,)
            ).fetchone()
            return row is not None

        return await self._db.read(work)

    async def create_workspace_with_member(self) -> tuple[str, str]:
        """CTL-5: a new workspace and a new principal, its only member. ``(workspace, token)``."""
        workspace_id = new_id("ws")
        now = rfc3339(self._clock.utcnow())
        _, _, token = await self._db.write(lambda c: create_member(c, now, workspace_id))
        return workspace_id, token

    async def create_outsider(self) -> tuple[str, str]:
        """CTL-6: a principal that belongs to no workspace. ``(principal, token)``."""
        now = rfc3339(self._clock.utcnow())
        principal_id, _, token = await self._db.write(lambda c: create_member(c, now, None))
        return principal_id, token
