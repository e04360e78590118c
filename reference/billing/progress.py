"""The send-progress payload, derived from a run's state by pure functions (BIL-9 to BIL-17).

Nothing here does I/O: the repository reads a :class:`RunState`, :func:`derive` turns it into a
:class:`SendProgress` snapshot, and the stream core compares snapshots by :func:`change_key`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reference.stream import StreamProfile
from reference.stream.clock import rfc3339

EVENT_NAME = "billing.invoice-send-progress"
STREAM_PATH = "/classes/billing/runs/{billingRunId}/send-progress/stream"
CONTRACT_MAJOR = 1


class DeliveryStatus(enum.StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    DELIVERED = "DELIVERED"
    DELAYED = "DELAYED"
    FAILED = "FAILED"
    BOUNCED = "BOUNCED"


@dataclass(frozen=True, slots=True)
class RunState:
    """What the repository reads in one statement: the run, and how many invoices have each
    status as their newest delivery since the run was sent."""

    billing_run_id: str
    month: str
    expected_invoice_count: int
    sent: bool
    newest_status_counts: Mapping[DeliveryStatus, int]
    read_at: datetime


@dataclass(frozen=True, slots=True)
class Progress:
    expected_invoice_count: int
    processed_invoice_count: int
    pending_count: int
    queued_count: int
    sent_count: int
    delivered_count: int
    delayed_count: int
    failed_count: int
    bounced_count: int
    is_complete: bool
    has_failures: bool


@dataclass(frozen=True, slots=True)
class SendProgress:
    """One snapshot of a run's send progress: the payload of a data event (BIL-1)."""

    billing_run_id: str
    month: str
    progress: Progress | None
    is_complete: bool
    generated_at: datetime


def derive_progress(expected: int, counts: Mapping[DeliveryStatus, int]) -> Progress:
    """BIL-9 to BIL-14, as the origin computes them."""
    by = {status: counts.get(status, 0) for status in DeliveryStatus}
    processed = sum(by.values())  # BIL-11; each invoice counted once, by its newest delivery
    # BIL-10: every invoice with a delivery counts as expected, even beyond the declared count.
    expected_count = max(expected, processed, 0)
    pending = max(expected_count - processed, 0)  # BIL-12
    queued = by[DeliveryStatus.QUEUED]
    failed, bounced = by[DeliveryStatus.FAILED], by[DeliveryStatus.BOUNCED]
    return Progress(
        expected_invoice_count=expected_count,
        processed_invoice_count=processed,
        pending_count=pending,
        queued_count=queued,
        sent_count=by[DeliveryStatus.SENT],
        delivered_count=by[DeliveryStatus.DELIVERED],
        delayed_count=by[DeliveryStatus.DELAYED],
        failed_count=failed,
        bounced_count=bounced,
        is_complete=pending == 0 and queued == 0,  # BIL-13
        has_failures=failed + bounced > 0,  # BIL-14
    )


def derive(state: RunState) -> SendProgress:
    """The snapshot of a run (BIL-15, BIL-16, BIL-17)."""
    if not state.sent:
        # BIL-16: no progress before the run is sent; complete only when there is nothing to send.
        return SendProgress(
            state.billing_run_id,
            state.month,
            None,
            state.expected_invoice_count == 0,
            state.read_at,
        )
    progress = derive_progress(state.expected_invoice_count, state.newest_status_counts)
    return SendProgress(
        state.billing_run_id, state.month, progress, progress.is_complete, state.read_at
    )


def change_key(snapshot: SendProgress) -> tuple[str, str, Progress | None, bool]:
    """BIL-2: the whole payload except ``generatedAt``."""
    return (snapshot.billing_run_id, snapshot.month, snapshot.progress, snapshot.is_complete)


def is_complete(snapshot: SendProgress) -> bool:
    """BIL-3."""
    return snapshot.is_complete


def to_payload(snapshot: SendProgress) -> dict[str, Any]:
    """The ``BillingInvoiceSendProgressEvent`` object (billing.invoice-send-progress@1)."""
    progress = snapshot.progress
    return {
        "billingRunId": snapshot.billing_run_id,
        "month": snapshot.month,
        "progress": None
        if progress is None
        else {
            "expectedInvoiceCount": progress.expected_invoice_count,
            "processedInvoiceCount": progress.processed_invoice_count,
            "pendingCount": progress.pending_count,
            "queuedCount": progress.queued_count,
            "sentCount": progress.sent_count,
            "deliveredCount": progress.delivered_count,
            "delayedCount": progress.delayed_count,
            "failedCount": progress.failed_count,
            "bouncedCount": progress.bounced_count,
            "isComplete": progress.is_complete,
            "hasFailures": progress.has_failures,
        },
        "isComplete": snapshot.is_complete,
        "generatedAt": rfc3339(snapshot.generated_at),
    }


SEND_PROGRESS_PROFILE: StreamProfile[SendProgress] = StreamProfile(
    event=EVENT_NAME, change_key=change_key, is_complete=is_complete, to_payload=to_payload
)
