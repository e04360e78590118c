"""Billing runs and deliveries in SQLite. All SQL of the billing profile lives here.

Every method is one unit of work on the database thread (reference.database): a read is a single
statement, so it sees one committed state; a write is one transaction. Deliveries are only ever
written for runs that were sent, so "the newest delivery since the run was sent" (BIL-9) is simply
the newest delivery.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from reference.billing.progress import DeliveryStatus, RunState
from reference.database import Database
from reference.ids import new_id
from reference.stream import Clock
from reference.stream.clock import rfc3339

_READ_STATE = """
SELECT r.id, r.month, r.expected_invoice_count, r.sent_at IS NOT NULL,
       (SELECT json_group_object(status, n) FROM (
            SELECT d.status AS status, COUNT(*) AS n
            FROM deliveries AS d
            WHERE d.run_id = r.id
              AND d.id = (SELECT MAX(newer.id) FROM deliveries AS newer
                          WHERE newer.run_id = d.run_id AND newer.invoice_no = d.invoice_no)
            GROUP BY d.status))
FROM billing_runs AS r
WHERE r.id = ? AND r.workspace_id = ?
"""

_NEWEST_STATUSES = """
SELECT d.invoice_no, d.status FROM deliveries AS d
WHERE d.run_id = ?
  AND d.id = (SELECT MAX(newer.id) FROM deliveries AS newer
              WHERE newer.run_id = d.run_id AND newer.invoice_no = d.invoice_no)
"""


class InjectedSnapshotFailure(sqlite3.OperationalError):
    """Raised in place of a stream's snapshot read after ``fail next snapshot`` (CTL-11)."""


class ChangeOutcome(enum.Enum):
    DONE = "done"
    NO_SUCH_RUN = "no_such_run"
    NOT_SENT = "not_sent"


@dataclass(frozen=True, slots=True)
class SendingRun:
    billing_run_id: str
    expected_invoice_count: int


class BillingRepository:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock
        # Runs whose next stream snapshot read must fail (CTL-11). Kept in memory: it is a test
        # switch of this process, not state of the run.
        self._fail_next_stream_read: set[str] = set()

    def _now(self) -> str:
        return rfc3339(self._clock.utcnow())

    # -- reads -----------------------------------------------------------------------------------

    async def read_state(self, workspace_id: str, run_id: str) -> RunState | None:
        """The run as seen from ``workspace_id``; None if it does not exist there (ISO-1, ISO-3)."""
        clock = self._clock

        def work(connection: sqlite3.Connection) -> RunState | None:
            row = connection.execute(_READ_STATE, (run_id, workspace_id)).fetchone()
            if row is None:
                return None
            counts = json.loads(row[4]) if row[4] else {}
            return RunState(
                billing_run_id=row[0],
                month=row[1],
                expected_invoice_count=row[2],
                sent=bool(row[3]),
                newest_status_counts={DeliveryStatus(k): v for k, v in counts.items()},
                read_at=clock.utcnow(),
            )

        return await self._db.read(work)

    async def read_state_for_stream(self, workspace_id: str, run_id: str) -> RunState | None:
        """Like :meth:`read_state`, but fails once after :meth:`fail_next_stream_read` (CTL-11)."""
        if run_id in self._fail_next_stream_read:
            self._fail_next_stream_read.discard(run_id)
            raise InjectedSnapshotFailure("injected snapshot failure")
        return await self.read_state(workspace_id, run_id)

    async def find_run_workspace(self, run_id: str) -> str | None:
        def work(connection: sqlite3.Connection) -> str | None:
            row = connection.execute(
                "SELECT workspace_id FROM billing_runs WHERE id = ?", (run_id,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self._db.read(work)

    async def sending_runs(self) -> list[SendingRun]:
        def work(connection: sqlite3.Connection) -> list[SendingRun]:
            rows = connection.execute(
                "SELECT id, expected_invoice_count FROM billing_runs WHERE sending = 1"
            ).fetchall()
            return [SendingRun(row[0], row[1]) for row in rows]

        return await self._db.read(work)

    async def newest_statuses(self, run_id: str) -> dict[int, DeliveryStatus]:
        def work(connection: sqlite3.Connection) -> dict[int, DeliveryStatus]:
            rows = connection.execute(_NEWEST_STATUSES, (run_id,)).fetchall()
            return {row[0]: DeliveryStatus(row[1]) for row in rows}

        return await self._db.read(work)

    # -- writes ----------------------------------------------------------------------------------

    async def create_run(
        self, workspace_id: str, month: str, invoice_count: int, *, sent: bool, simulate: bool
    ) -> str:
        """A new run; ``simulate`` hands it to the simulated sender (it is then sent at once)."""
        run_id = new_id("run")
        now = self._now()
        sent_at = now if sent or simulate else None

        def work(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO billing_runs (id, workspace_id, month, expected_invoice_count, "
                "sent_at, sending, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, workspace_id, month, invoice_count, sent_at, int(simulate), now, now),
            )

        await self._db.write(work)
        return run_id

    async def add_deliveries(
        self,
        run_id: str,
        deliveries: Iterable[tuple[int, DeliveryStatus]],
        *,
        finished: bool,
    ) -> None:
        """Append deliveries (the sender's progress); ``finished`` ends the run's simulation."""
        now = self._now()
        rows = [(run_id, invoice_no, status.value, now) for invoice_no, status in deliveries]

        def work(connection: sqlite3.Connection) -> None:
            connection.executemany(
                "INSERT INTO deliveries (run_id, invoice_no, status, created_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            connection.execute(
                "UPDATE billing_runs SET updated_at = ?, sending = CASE WHEN ? THEN 0 "
                "ELSE sending END WHERE id = ?",
                (now, finished, run_id),
            )

        await self._db.write(work)

    async def replace_deliveries(
        self, run_id: str, status_counts: Mapping[DeliveryStatus, int]
    ) -> ChangeOutcome:
        """CTL-8: exactly sum(counts) invoices, numbered from 1, with those newest statuses."""
        now = self._now()
        rows: list[tuple[str, int, str, str]] = []
        invoice_no = 0
        for status in DeliveryStatus:
            for _ in range(status_counts.get(status, 0)):
                invoice_no += 1
                rows.append((run_id, invoice_no, status.value, now))

        def work(connection: sqlite3.Connection) -> ChangeOutcome:
            row = connection.execute(
                "SELECT sent_at IS NOT NULL FROM billing_runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                return ChangeOutcome.NO_SUCH_RUN
            if not row[0]:
                return ChangeOutcome.NOT_SENT
            connection.execute("DELETE FROM deliveries WHERE run_id = ?", (run_id,))
            connection.executemany(
                "INSERT INTO deliveries (run_id, invoice_no, status, created_at) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )
            connection.execute(
                "UPDATE billing_runs SET updated_at = ?, sending = 0 WHERE id = ?", (now, run_id)
            )
            return ChangeOutcome.DONE

        return await self._db.write(work)

    async def touch(self, run_id: str) -> ChangeOutcome:
        """CTL-9: a stored change that moves nothing but the time."""
        now = self._now()

        def work(connection: sqlite3.Connection) -> ChangeOutcome:
            cursor = connection.execute(
                "UPDATE billing_runs SET updated_at = ? WHERE id = ?", (now, run_id)
            )
            return ChangeOutcome.DONE if cursor.rowcount else ChangeOutcome.NO_SUCH_RUN

        return await self._db.write(work)

    async def complete(self, run_id: str) -> ChangeOutcome:
        """CTL-10: sent if it was not; every QUEUED invoice and every expected invoice without a
        delivery gets a newest delivery DELIVERED."""
        now = self._now()

        def work(connection: sqlite3.Connection) -> ChangeOutcome:
            row = connection.execute(
                "SELECT expected_invoice_count FROM billing_runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                return ChangeOutcome.NO_SUCH_RUN
            expected = int(row[0])
            connection.execute(
                "UPDATE billing_runs SET sent_at = COALESCE(sent_at, ?), updated_at = ?, "
                "sending = 0 WHERE id = ?",
                (now, now, run_id),
            )
            queued = [
                invoice_no
                for invoice_no, status in connection.execute(_NEWEST_STATUSES, (run_id,))
                if status == DeliveryStatus.QUEUED.value
            ]
            with_delivery = {
                invoice_no
                for (invoice_no,) in connection.execute(
                    "SELECT DISTINCT invoice_no FROM deliveries WHERE run_id = ?", (run_id,)
                )
            }
            never_sent = [n for n in range(1, expected + 1) if n not in with_delivery]
            connection.executemany(
                "INSERT INTO deliveries (run_id, invoice_no, status, created_at) "
                "VALUES (?, ?, 'DELIVERED', ?)",
                [(run_id, n, now) for n in [*queued, *never_sent]],
            )
            return ChangeOutcome.DONE

        return await self._db.write(work)

    def fail_next_stream_read(self, run_id: str) -> None:
        self._fail_next_stream_read.add(run_id)
