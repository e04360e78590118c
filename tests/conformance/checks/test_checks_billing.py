"""The harness's own derivation of billing progress (BIL-9 to BIL-16, CTL-8, CTL-10), by hand."""

from __future__ import annotations

from conformance.checks._billing import RunState, change_key, progress_of, state_matches


def test_progress_is_derived_from_the_newest_statuses() -> None:
    progress = progress_of(10, {"QUEUED": 2, "SENT": 1, "DELIVERED": 3, "DELAYED": 1, "FAILED": 1})
    assert progress == {
        "expectedInvoiceCount": 10,
        "processedInvoiceCount": 8,  # BIL-11: 2 + 1 + 3 + 1 + 1
        "pendingCount": 2,  # BIL-12: 10 - 8
        "queuedCount": 2,
        "sentCount": 1,
        "deliveredCount": 3,
        "delayedCount": 1,
        "failedCount": 1,
        "bouncedCount": 0,
        "isComplete": False,  # BIL-13: pending and queued
        "hasFailures": True,  # BIL-14: one failed
    }


def test_more_deliveries_than_expected_raise_the_expected_count() -> None:
    """BIL-10: the larger of the expected count and the invoices with a delivery."""
    progress = progress_of(2, {"DELIVERED": 3})
    assert (progress["expectedInvoiceCount"], progress["pendingCount"]) == (3, 0)
    assert progress["isComplete"] is True
    assert progress["hasFailures"] is False


def test_a_run_with_no_invoices_is_complete() -> None:
    progress = progress_of(0, {})
    assert progress["isComplete"] is True
    assert progress["processedInvoiceCount"] == 0


def test_unsent_runs_have_no_progress() -> None:
    """BIL-16."""
    assert RunState(2, False, {}).payload_state() == {"progress": None, "isComplete": False}
    assert RunState(0, False, {}).payload_state() == {"progress": None, "isComplete": True}


def test_completing_delivers_queued_and_pending_invoices() -> None:
    """CTL-10: queued and pending invoices become DELIVERED."""
    done = RunState(10, True, {"QUEUED": 2, "SENT": 3, "FAILED": 1}).completed()
    progress = done.payload_state()["progress"]
    assert progress["deliveredCount"] == 2 + 4  # 2 queued + 4 pending
    assert (progress["queuedCount"], progress["pendingCount"]) == (0, 0)
    assert progress["isComplete"] is True
    assert RunState(3, False, {}).completed().sent is True


def test_the_change_key_ignores_generated_at_only() -> None:
    """BIL-2."""
    a = {"billingRunId": "r", "isComplete": False, "generatedAt": "2026-01-01T00:00:00Z"}
    b = {**a, "generatedAt": "2026-01-01T00:00:09Z"}
    assert change_key(a) == change_key(b)
    assert change_key(a) != change_key({**a, "isComplete": True})
    assert state_matches(a, {"isComplete": False})
    assert not state_matches(a, {"progress": None})
    assert not state_matches("not an object", {})
