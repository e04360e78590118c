"""SQLite without blocking the event loop: every unit of work runs on a dedicated thread.

A repository method hands a plain function ``fn(connection)`` to :meth:`Database.read` or
:meth:`Database.write`; the function runs to completion on the database thread, so its statements
never interleave with another coroutine's, and a write is one transaction (all or nothing, BIL-7,
CTL-14). With a file database there are two threads and two connections: reads run on their own
connection and, thanks to WAL, neither wait for writes nor ever see a write half done (CHG-6: only
committed states are visible). ``:memory:`` uses one thread and one connection for both.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

MEMORY = ":memory:"

SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS principals (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
-- Tokens are stored as SHA-256 hex digests only; the token itself is shown once, at creation.
CREATE TABLE IF NOT EXISTS tokens (
    token_sha256 TEXT PRIMARY KEY,
    principal_id TEXT NOT NULL REFERENCES principals(id),
    created_at TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    principal_id TEXT NOT NULL REFERENCES principals(id),
    PRIMARY KEY (workspace_id, principal_id)
);
CREATE TABLE IF NOT EXISTS billing_runs (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    month TEXT NOT NULL,
    expected_invoice_count INTEGER NOT NULL CHECK (expected_invoice_count >= 0),
    sent_at TEXT,
    sending INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS billing_runs_by_workspace ON billing_runs (workspace_id, id);
CREATE INDEX IF NOT EXISTS billing_runs_sending ON billing_runs (sending) WHERE sending = 1;
-- One row per delivery attempt; the newest (highest id) per invoice is the one that counts.
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES billing_runs(id),
    invoice_no INTEGER NOT NULL,
    status TEXT NOT NULL
        CHECK (status IN ('QUEUED', 'SENT', 'DELIVERED', 'DELAYED', 'FAILED', 'BOUNCED')),
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_newest ON deliveries (run_id, invoice_no, id);
"""


def _connect(path: str) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a write is exactly one transaction.
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    connection.execute("PRAGMA foreign_keys = ON")
    if path != MEMORY:
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
    return connection


class Database:
    """Owns the connections and their threads. Create with :meth:`open`, end with :meth:`close`."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._write_thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-write")
        self._read_thread = (
            self._write_thread
            if path == MEMORY
            else ThreadPoolExecutor(1, thread_name_prefix="sqlite-read")
        )

    @classmethod
    async def open(cls, path: str) -> Database:
        """Open (creating the file and its parent folder if needed) and create the schema."""
        database = cls(path)
        loop = asyncio.get_running_loop()
        if path != MEMORY:
            await loop.run_in_executor(database._write_thread, _make_parent, path)
        database._writer = await loop.run_in_executor(database._write_thread, _connect, path)
        # executescript commits on its own; the statements are idempotent (IF NOT EXISTS).
        await loop.run_in_executor(database._write_thread, database._writer.executescript, SCHEMA)
        if path == MEMORY:
            database._reader = database._writer
        else:
            database._reader = await loop.run_in_executor(database._read_thread, _connect, path)
        return database

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` on the read connection. Use single statements for consistent snapshots."""
        assert self._reader is not None, "database is closed"
        reader = self._reader
        return await asyncio.get_running_loop().run_in_executor(
            self._read_thread, lambda: work(reader)
        )

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one immediate transaction on the write connection; roll back on error."""
        assert self._writer is not None, "database is closed"
        writer = self._writer
        return await asyncio.get_running_loop().run_in_executor(
            self._write_thread, lambda: run_transaction(writer, work)
        )

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        pairs = ((self._reader, self._read_thread), (self._writer, self._write_thread))
        for connection, thread in pairs:
            if connection is not None:
                await loop.run_in_executor(thread, connection.close)
        self._reader = self._writer = None
        self._read_thread.shutdown(wait=True)
        self._write_thread.shutdown(wait=True)


def run_transaction(connection: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """``work`` inside BEGIN IMMEDIATE ... COMMIT, rolled back if it raises."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        result = work(connection)
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return result


def _make_parent(path: str) -> None:
    Path(path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


def connect_sync(path: str) -> sqlite3.Connection:
    """A synchronous connection with the schema in place, for short command-line programs."""
    if path != MEMORY:
        _make_parent(path)
    connection = _connect(path)
    connection.executescript(SCHEMA)
    return connection
