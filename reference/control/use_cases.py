"""Control operations (CTL-3 to CTL-13): put the server into known states for a checker.

Every operation completes its database transaction before it returns, so its effect is visible
(CHG-6) when the HTTP response is sent (CTL-13).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from importlib import metadata
from typing import Any

from reference.billing.progress import CONTRACT_MAJOR, EVENT_NAME, STREAM_PATH, DeliveryStatus
from reference.billing.repository import ChangeOutcome
from reference.ids import is_valid_id
from reference.services import Services

PROTOCOL_VERSION = "1.0"
PROFILE_NAME = "billing.invoice-send-progress"
FEATURES = ("snapshot-failure", "stream-statistics")  # CTL-4: both optional operations exist


class Outcome(enum.Enum):
    DONE = "done"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


def _outcome(change: ChangeOutcome) -> Outcome:
    return {
        ChangeOutcome.DONE: Outcome.DONE,
        ChangeOutcome.NO_SUCH_RUN: Outcome.NOT_FOUND,
        ChangeOutcome.NOT_SENT: Outcome.CONFLICT,
    }[change]


def server_version() -> str:
    try:
        return metadata.version("ssegate")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "0+unknown"


class ControlUseCases:
    def __init__(self, services: Services) -> None:
        self._s = services

    def describe(self) -> dict[str, Any]:
        """CTL-3, VER-1, VER-4, TERM-1."""
        timing = self._s.config.timing
        return {
            "protocolVersion": PROTOCOL_VERSION,
            "server": {"name": "ssegate-reference", "version": server_version()},
            "profiles": {
                PROFILE_NAME: {
                    "path": STREAM_PATH,
                    "event": EVENT_NAME,
                    "contract": f"{EVENT_NAME}@{CONTRACT_MAJOR}",
                    "intervalMs": timing.interval_ms,
                    "heartbeatMs": timing.heartbeat_ms,
                    "timeoutMs": timing.timeout_ms,
                }
            },
            "features": list(FEATURES),
        }

    async def create_workspace(self) -> tuple[str, str]:
        return await self._s.identities.create_workspace_with_member()

    async def create_outsider(self) -> tuple[str, str]:
        return await self._s.identities.create_outsider()

    async def create_billing_run(
        self, workspace_id: str, month: str | None, invoice_count: int, sent: bool
    ) -> tuple[str, str] | None:
        """CTL-7: ``(billingRunId, month)``, or None for an unknown workspace."""
        if not is_valid_id(workspace_id) or not await self._s.identities.workspace_exists(
            workspace_id
        ):
            return None
        month = month or f"{self._s.clock.utcnow():%Y-%m}"
        run_id = await self._s.runs.create_run(
            workspace_id, month, invoice_count, sent=sent, simulate=False
        )
        return run_id, month

    async def set_deliveries(self, run_id: str, counts: Mapping[str, int]) -> Outcome:
        """CTL-8."""
        if not is_valid_id(run_id):
            return Outcome.NOT_FOUND
        by_status = {DeliveryStatus(name): count for name, count in counts.items()}
        return _outcome(await self._s.runs.replace_deliveries(run_id, by_status))

    async def touch(self, run_id: str) -> Outcome:
        """CTL-9."""
        if not is_valid_id(run_id):
            return Outcome.NOT_FOUND
        return _outcome(await self._s.runs.touch(run_id))

    async def complete(self, run_id: str) -> Outcome:
        """CTL-10."""
        if not is_valid_id(run_id):
            return Outcome.NOT_FOUND
        return _outcome(await self._s.runs.complete(run_id))

    async def fail_next_snapshot(self, run_id: str) -> Outcome:
        """CTL-11."""
        if not is_valid_id(run_id) or await self._s.runs.find_run_workspace(run_id) is None:
            return Outcome.NOT_FOUND
        self._s.runs.fail_next_stream_read(run_id)
        return Outcome.DONE

    async def statistics(self, run_id: str) -> tuple[int, int] | None:
        """CTL-12: ``(openStreams, snapshotFetches)``, or None for an unknown run."""
        if not is_valid_id(run_id):
            return None
        workspace_id = await self._s.runs.find_run_workspace(run_id)
        if workspace_id is None:
            return None
        stats = self._s.hub.statistics((workspace_id, run_id))
        return stats.open_streams, stats.snapshot_fetches
