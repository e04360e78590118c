"""The send-progress derivation (BIL-9 to BIL-17) and its change key (BIL-2)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from reference.billing.progress import (
    DeliveryStatus,
    RunState,
    change_key,
    derive,
    derive_progress,
    to_payload,
)

NOW = datetime(2026, 3, 1, tzinfo=UTC)
counts = st.dictionaries(st.sampled_from(list(DeliveryStatus)), st.integers(0, 10_000))


def state(expected: int = 3, *, sent: bool = True, **by: int) -> RunState:
    return RunState(
        "run_1",
        "2026-03",
        expected,
        sent,
        {DeliveryStatus(k): v for k, v in by.items()},
        NOW,
    )


@given(st.integers(0, 10_000), counts)
def test_cross_field_rules_hold_for_any_counts(
    expected: int, by: dict[DeliveryStatus, int]
) -> None:
    """BIL-10 to BIL-14 on every combination."""
    p = derive_progress(expected, by)
    statuses = [
        p.queued_count,
        p.sent_count,
        p.delivered_count,
        p.delayed_count,
        p.failed_count,
        p.bounced_count,
    ]
    assert p.processed_invoice_count == sum(statuses)
    assert p.expected_invoice_count == max(expected, p.processed_invoice_count)
    assert p.pending_count == max(p.expected_invoice_count - p.processed_invoice_count, 0)
    assert p.is_complete == (p.pending_count == 0 and p.queued_count == 0)
    assert p.has_failures == (p.failed_count + p.bounced_count > 0)


def test_counts_are_the_newest_statuses() -> None:
    """BIL-9."""
    snapshot = derive(state(5, QUEUED=1, DELIVERED=2, BOUNCED=1))
    assert snapshot.progress is not None
    assert snapshot.progress.queued_count == 1
    assert snapshot.progress.delivered_count == 2
    assert snapshot.progress.pending_count == 1
    assert snapshot.is_complete is False
    assert snapshot.progress.has_failures is True


def test_unsent_run_has_no_progress_and_is_complete_only_without_invoices() -> None:
    """BIL-16."""
    assert derive(state(3, sent=False)).progress is None
    assert derive(state(3, sent=False)).is_complete is False
    assert derive(state(0, sent=False)).is_complete is True


def test_sent_run_without_invoices_is_complete_with_zero_counts() -> None:
    snapshot = derive(state(0))
    assert snapshot.is_complete is True
    assert snapshot.progress is not None
    assert snapshot.progress.expected_invoice_count == 0


def test_event_is_complete_equals_progress_is_complete() -> None:
    """BIL-15."""
    for by in ({"DELIVERED": 3}, {"QUEUED": 3}, {"SENT": 2}):
        snapshot = derive(state(3, **by))
        assert snapshot.progress is not None
        assert snapshot.is_complete == snapshot.progress.is_complete


def test_change_key_ignores_generated_at_only() -> None:
    """BIL-2."""
    first = derive(state(3, QUEUED=1))
    later = replace(first, generated_at=NOW + timedelta(seconds=5))
    assert change_key(first) == change_key(later)
    assert change_key(first) != change_key(derive(state(3, QUEUED=2)))


def test_payload_shape() -> None:
    """BIL-1, BIL-17: the wire names of contract billing.invoice-send-progress@1."""
    payload = to_payload(derive(state(2, DELIVERED=2)))
    assert payload["billingRunId"] == "run_1"
    assert payload["month"] == "2026-03"
    assert payload["generatedAt"] == "2026-03-01T00:00:00.000Z"
    assert set(payload["progress"]) == {
        "expectedInvoiceCount",
        "processedInvoiceCount",
        "pendingCount",
        "queuedCount",
        "sentCount",
        "deliveredCount",
        "delayedCount",
        "failedCount",
        "bouncedCount",
        "isComplete",
        "hasFailures",
    }
    assert payload["isComplete"] is True
