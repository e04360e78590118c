"""The billing profile as the checker sees it: expected payloads and the change key.

The harness derives, from what it set through the control API, what a correct server must send
(BIL-9 to BIL-16, CTL-8, CTL-10). This is the checker's own derivation, written from the spec
text; it shares no code with any server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["STATUSES", "RunState", "change_key", "progress_of"]

STATUSES = ("QUEUED", "SENT", "DELIVERED", "DELAYED", "FAILED", "BOUNCED")
_COUNT_FIELDS = {
    "QUEUED": "queuedCount",
    "SENT": "sentCount",
    "DELIVERED": "deliveredCount",
    "DELAYED": "delayedCount",
    "FAILED": "failedCount",
    "BOUNCED": "bouncedCount",
}


@dataclass(frozen=True, slots=True)
class RunState:
    """What the harness made of a run: expected invoices, sent or not, newest statuses."""

    invoice_count: int
    sent: bool
    status_counts: Mapping[str, int]

    def payload_state(self) -> dict[str, Any]:
        """The expected ``progress`` and ``isComplete`` members (BIL-9 to BIL-16)."""
        if not self.sent:
            # BIL-16: no progress while unsent; complete exactly when the run has no invoices.
            return {"progress": None, "isComplete": self.invoice_count == 0}
        progress = progress_of(self.invoice_count, self.status_counts)
        return {"progress": progress, "isComplete": progress["isComplete"]}

    def completed(self) -> RunState:
        """CTL-10: queued and pending invoices become DELIVERED, and the run is sent."""
        counts = {status: self.status_counts.get(status, 0) for status in STATUSES}
        processed = sum(counts.values())
        expected = max(self.invoice_count, processed)
        pending = max(expected - processed, 0)
        counts["DELIVERED"] += counts["QUEUED"] + pending
        counts["QUEUED"] = 0
        return RunState(self.invoice_count, True, counts)


def progress_of(invoice_count: int, status_counts: Mapping[str, int]) -> dict[str, Any]:
    """The progress object a run with these newest statuses must report (BIL-9 to BIL-14)."""
    counts = {field: status_counts.get(status, 0) for status, field in _COUNT_FIELDS.items()}
    processed = sum(counts.values())  # BIL-11
    expected = max(invoice_count, processed)  # BIL-10: distinct invoices with a delivery
    pending = max(expected - processed, 0)  # BIL-12
    return {
        "expectedInvoiceCount": expected,
        "processedInvoiceCount": processed,
        "pendingCount": pending,
        **counts,
        "isComplete": pending == 0 and counts["queuedCount"] == 0,  # BIL-13
        "hasFailures": counts["failedCount"] + counts["bouncedCount"] > 0,  # BIL-14
    }


def change_key(payload: object) -> str:
    """BIL-2: the whole payload except ``generatedAt``, canonically serialised."""
    if isinstance(payload, dict):
        payload = {key: value for key, value in payload.items() if key != "generatedAt"}
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def state_matches(payload: object, expected: Mapping[str, Any]) -> bool:
    """Whether a payload's ``progress`` and ``isComplete`` are exactly the expected ones."""
    if not isinstance(payload, dict):
        return False
    return all(payload.get(key, _MISSING) == value for key, value in expected.items())


_MISSING = object()
