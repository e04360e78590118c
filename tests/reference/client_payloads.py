"""Billing progress payloads for the client tests' scripted servers (valid against the contract)."""

from __future__ import annotations

from typing import Any


def progress(processed: int, expected: int = 4, **extra: Any) -> dict[str, Any]:
    """A payload of run ``r1`` with ``processed`` of ``expected`` invoices delivered."""
    complete = processed >= expected
    return {
        "billingRunId": "r1",
        "month": "2026-11",
        "progress": {
            "expectedInvoiceCount": expected,
            "processedInvoiceCount": processed,
            "pendingCount": expected - processed,
            "queuedCount": 0,
            "sentCount": 0,
            "deliveredCount": processed,
            "delayedCount": 0,
            "failedCount": 0,
            "bouncedCount": 0,
            "isComplete": complete,
            "hasFailures": False,
        },
        "isComplete": complete,
        "generatedAt": "2026-11-03T10:00:00Z",
        **extra,
    }
