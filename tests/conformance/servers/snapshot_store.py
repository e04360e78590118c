"""In-memory state of the test server: workspaces, principals, billing runs, and the progress
derivation of the billing profile (BIL-9 to BIL-17), written from spec/13 alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from snapshot_options import Options

STATUSES = ("QUEUED", "SENT", "DELIVERED", "DELAYED", "FAILED", "BOUNCED")
_COUNT_NAMES = {
    "QUEUED": "queuedCount",
    "SENT": "sentCount",
    "DELIVERED": "deliveredCount",
    "DELAYED": "delayedCount",
    "FAILED": "failedCount",
    "BOUNCED": "bouncedCount",
}


def utc_now_text() -> str:
    """An RFC 3339 date-time in UTC ending in Z, with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


class SnapshotFailed(Exception):
    """A snapshot fetch failed as a database error would (CTL-11)."""


@dataclass
class Run:
    run_id: str
    workspace_id: str
    month: str
    expected: int
    sent: bool
    # invoice id -> status of its newest delivery since the run was sent (BIL-9)
    newest: dict[str, str] = field(default_factory=dict)
    # bumped by touch: the stored state changes, the change key does not (CTL-9)
    revision: int = 0
    fail_next: bool = False
    fetches: int = 0
    open_streams: int = 0
    # the payload at creation, for the fallback-stale fault
    first_payload: dict[str, Any] | None = None


@dataclass
class Principal:
    principal_id: str
    workspaces: list[str]


class Store:
    """Every piece of state; single event loop, so no locking is needed."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.workspaces: dict[str, set[str]] = {}  # workspace id -> member principal ids
        self.principals: dict[str, Principal] = {}
        self._token_hashes: dict[bytes, str] = {}  # sha256(token) -> principal id
        self.runs: dict[str, Run] = {}

    # principals and tokens -------------------------------------------------------------

    def _issue_token(self, principal_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self._token_hashes[hashlib.sha256(token.encode()).digest()] = principal_id
        return token

    def principal_for(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).digest()
        # dict lookup on a hash of the token: no early-exit comparison on the token itself
        principal_id = self._token_hashes.get(digest)
        return None if principal_id is None else self.principals[principal_id]

    def create_workspace(self) -> tuple[str, str]:
        workspace_id = "w" + secrets.token_hex(8)
        principal_id = "p" + secrets.token_hex(8)
        self.workspaces[workspace_id] = {principal_id}
        self.principals[principal_id] = Principal(principal_id, [workspace_id])
        return workspace_id, self._issue_token(principal_id)

    def create_outsider(self) -> tuple[str, str]:
        principal_id = "p" + secrets.token_hex(8)
        self.principals[principal_id] = Principal(principal_id, [])
        return principal_id, self._issue_token(principal_id)

    def is_member(self, principal: Principal, workspace_id: str) -> bool:
        return principal.principal_id in self.workspaces.get(workspace_id, set())

    # runs ------------------------------------------------------------------------------

    def create_run(self, workspace_id: str, month: str, expected: int, sent: bool) -> Run:
        run = Run("r" + secrets.token_hex(12), workspace_id, month, expected, sent)
        self.runs[run.run_id] = run
        run.first_payload = self.payload(run)
        return run

    def find_run(self, run_id: str, workspace_id: str) -> Run | None:
        """The run if it exists in that workspace (ISO-1); a foreign run is not found."""
        run = self.runs.get(run_id)
        if run is None:
            return None
        if run.workspace_id != workspace_id and not self.options.broken("foreign-run-visible"):
            return None
        return run

    def set_deliveries(self, run: Run, counts: dict[str, int]) -> None:
        """CTL-8: exactly these newest statuses, on that many distinct invoices."""
        newest: dict[str, str] = {}
        for status in STATUSES:
            for _ in range(counts.get(status, 0)):
                newest[f"inv-{len(newest) + 1}"] = status
        run.newest = newest

    def touch(self, run: Run) -> None:
        """CTL-9: a newer delivery with the same status, or a newer timestamp; key unchanged."""
        run.revision += 1
        if run.newest:
            invoice = next(iter(run.newest))
            run.newest[invoice] = run.newest[invoice]

    def complete(self, run: Run) -> None:
        """CTL-10: sent; QUEUED and undelivered expected invoices become DELIVERED."""
        run.sent = True
        for invoice, status in run.newest.items():
            if status == "QUEUED":
                run.newest[invoice] = "DELIVERED"
        for _ in range(max(run.expected - len(run.newest), 0)):
            run.newest[f"inv-{len(run.newest) + 1}"] = "DELIVERED"

    # the profile's payload ---------------------------------------------------------------

    def fetch(self, run: Run) -> dict[str, Any]:
        """One snapshot fetch made for a stream: counted (CTL-12), failable (CTL-11)."""
        run.fetches += 1
        if run.fail_next:
            run.fail_next = False
            raise SnapshotFailed("database error while reading billing run")
        return self.payload(run)

    def payload(self, run: Run) -> dict[str, Any]:
        """BillingInvoiceSendProgressEvent of the run, now (BIL-9 to BIL-17)."""
        progress = self._progress(run) if run.sent else None
        if self.options.broken("unsent-progress-shown") and progress is None:
            progress = self._zero_progress()
        # BIL-15 with progress; BIL-16 without: complete iff the run has no invoices
        is_complete = bool(progress["isComplete"]) if progress is not None else run.expected == 0
        month = run.month
        if self.options.broken("wrong-run-identity"):
            month = _month_before(month)
        payload: dict[str, Any] = {
            "billingRunId": run.run_id,  # BIL-17
            "month": month,
            "progress": progress,
            "isComplete": is_complete,
            "generatedAt": utc_now_text(),
        }
        if self.options.broken("payload-off-contract"):
            payload["workspaceId"] = run.workspace_id
        return payload

    def _zero_progress(self) -> dict[str, Any]:
        counts = dict.fromkeys(_COUNT_NAMES.values(), 0)
        return {
            "expectedInvoiceCount": 0,
            "processedInvoiceCount": 0,
            "pendingCount": 0,
            **counts,
            "isComplete": True,
            "hasFailures": False,
        }

    def _progress(self, run: Run) -> dict[str, Any]:
        counts = dict.fromkeys(_COUNT_NAMES.values(), 0)
        for status in run.newest.values():  # BIL-9: newest delivery per invoice
            counts[_COUNT_NAMES[status]] += 1
        if self.options.broken("progress-not-derived"):
            counts["deliveredCount"] += counts["sentCount"]
            counts["sentCount"] = 0
        expected = max(run.expected, len(run.newest))  # BIL-10
        processed = sum(counts.values())  # BIL-11
        pending = max(expected - processed, 0)  # BIL-12
        reported_processed = processed
        if self.options.broken("cross-field-rule-broken"):
            reported_processed = processed - counts["queuedCount"]
        return {
            "expectedInvoiceCount": expected,
            "processedInvoiceCount": reported_processed,
            "pendingCount": pending,
            "queuedCount": counts["queuedCount"],
            "sentCount": counts["sentCount"],
            "deliveredCount": counts["deliveredCount"],
            "delayedCount": counts["delayedCount"],
            "failedCount": counts["failedCount"],
            "bouncedCount": counts["bouncedCount"],
            "isComplete": pending == 0 and counts["queuedCount"] == 0,  # BIL-13
            "hasFailures": counts["failedCount"] + counts["bouncedCount"] > 0,  # BIL-14
        }


def change_key(payload: dict[str, Any]) -> str:
    """BIL-2: the whole payload except generatedAt, in a canonical text form."""
    return json.dumps({k: v for k, v in payload.items() if k != "generatedAt"}, sort_keys=True)


def secrets_equal(given: str, expected: str) -> bool:
    """CTL-2: compare digests so the time taken does not depend on the secret's content."""
    return hmac.compare_digest(
        hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def _month_before(month: str) -> str:
    """Only the wrong-run-identity fault: the month before, as a zero-based month slip gives."""
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"
