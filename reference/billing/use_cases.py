"""Billing use cases: create a run, read its send progress, open its send-progress stream.

No HTTP here: callers pass a :class:`Caller` that the access use case has already checked, and get
domain values or None ("no such run in your workspace", which covers foreign runs and malformed
ids alike: ERR-9, ERR-12, ISO-3).
"""

from __future__ import annotations

from reference.billing.progress import SendProgress, derive
from reference.billing.repository import BillingRepository
from reference.identity.access import Caller
from reference.ids import is_valid_id
from reference.stream import StreamHub, Subscription


class SendProgressUseCases:
    def __init__(self, runs: BillingRepository, hub: StreamHub[SendProgress]) -> None:
        self._runs = runs
        self._hub = hub

    async def create_run(
        self, caller: Caller, month: str, invoice_count: int, send_invoices: bool
    ) -> str:
        """BIL-6: a run in the caller's workspace; ``send_invoices`` starts the simulated sender."""
        return await self._runs.create_run(
            caller.workspace_id, month, invoice_count, sent=send_invoices, simulate=send_invoices
        )

    async def current_progress(self, caller: Caller, run_id: str) -> SendProgress | None:
        """The polling fallback's payload (BIL-4, BIL-5): the same derivation as the stream."""
        if not is_valid_id(run_id):
            return None
        state = await self._runs.read_state(caller.workspace_id, run_id)
        return None if state is None else derive(state)

    async def open_stream(self, caller: Caller, run_id: str) -> Subscription[SendProgress] | None:
        """A subscription to the run's progress, or None if there is no such run for the caller.

        Raises :class:`reference.stream.SnapshotFetchError` if the initial snapshot cannot be read.
        The stream key includes the workspace, so streams of different workspaces never share a
        poller (ISO-4).
        """
        if not is_valid_id(run_id):
            return None
        workspace_id = caller.workspace_id
        runs = self._runs

        async def fetch() -> SendProgress | None:
            state = await runs.read_state_for_stream(workspace_id, run_id)
            return None if state is None else derive(state)

        return await self._hub.open((workspace_id, run_id), fetch)
