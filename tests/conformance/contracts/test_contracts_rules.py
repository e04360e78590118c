"""conformance.contracts.rules: BIL-11 to BIL-15 on single payloads.

The example cases in contracts/cases/rules/ cover named situations; these properties cover the
algebra: a progress object derived by the origin's formulas never violates a rule, and breaking
one derived field is reported as exactly the rule that derives it.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.contracts.catalog import get_contract
from conformance.contracts.rules import STATUS_COUNTS, RuleViolation, check_cross_field

counts = st.integers(min_value=0, max_value=10_000)


def derived(expected: int, status: dict[str, int]) -> dict[str, Any]:
    """A payload whose progress follows spec/13-billing-profile.md (the origin's formulas)."""
    processed = sum(status.values())
    pending = max(expected - processed, 0)
    complete = pending == 0 and status["queuedCount"] == 0
    progress = {
        "expectedInvoiceCount": expected,
        "processedInvoiceCount": processed,
        "pendingCount": pending,
        **status,
        "isComplete": complete,
        "hasFailures": status["failedCount"] + status["bouncedCount"] > 0,
    }
    return {
        "billingRunId": "run_1",
        "month": "2026-03",
        "progress": progress,
        "isComplete": complete,
        "generatedAt": "2026-03-31T09:00:00Z",
    }


payloads = st.builds(derived, counts, st.fixed_dictionaries(dict.fromkeys(STATUS_COUNTS, counts)))


@settings(deadline=None)  # a loaded CI machine must not turn into a flaky failure
@given(payloads)
def test_derived_progress_breaks_no_rule(payload: dict[str, Any]) -> None:
    assert check_cross_field(payload) == []
    # and the schema agrees: the rules and the contract describe the same payloads
    assert get_contract("billing.invoice-send-progress", 1).validate(payload) == []


@settings(deadline=None)
@given(payloads, st.integers(min_value=1, max_value=5))
def test_a_wrong_processed_count_is_bil_11(payload: dict[str, Any], delta: int) -> None:
    progress = payload["progress"]
    progress["processedInvoiceCount"] += delta
    found = {v.requirement for v in check_cross_field(payload)}
    assert "BIL-11" in found
    # pending is judged against the reported processed count, so BIL-12 may follow
    assert found <= {"BIL-11", "BIL-12"}


@settings(deadline=None)
@given(payloads, st.integers(min_value=1, max_value=5))
def test_a_wrong_pending_count_is_bil_12(payload: dict[str, Any], delta: int) -> None:
    payload["progress"]["pendingCount"] += delta
    found = {v.requirement for v in check_cross_field(payload)}
    assert "BIL-12" in found
    # a complete run with pending > 0 is no longer complete by BIL-13
    assert found <= {"BIL-12", "BIL-13"}


@settings(deadline=None)
@given(payloads)
def test_a_flipped_progress_flag_is_bil_13_and_bil_15(payload: dict[str, Any]) -> None:
    payload["progress"]["isComplete"] = not payload["progress"]["isComplete"]
    assert sorted(v.requirement for v in check_cross_field(payload)) == ["BIL-13", "BIL-15"]


@settings(deadline=None)
@given(payloads)
def test_a_flipped_failure_flag_is_bil_14(payload: dict[str, Any]) -> None:
    payload["progress"]["hasFailures"] = not payload["progress"]["hasFailures"]
    assert [v.requirement for v in check_cross_field(payload)] == ["BIL-14"]


@settings(deadline=None)
@given(payloads)
def test_a_flipped_event_flag_is_bil_15(payload: dict[str, Any]) -> None:
    payload["isComplete"] = not payload["isComplete"]
    assert [v.requirement for v in check_cross_field(payload)] == ["BIL-15"]


def test_violation_names_requirement_pointer_and_reason() -> None:
    payload = derived(3, dict.fromkeys(STATUS_COUNTS, 0))
    payload["progress"]["pendingCount"] = 1
    assert check_cross_field(payload) == [
        RuleViolation(
            "BIL-12",
            "/progress/pendingCount",
            "pendingCount is 1, but max(expectedInvoiceCount 3 - processedInvoiceCount 0, 0) is 3",
        )
    ]
    assert check_cross_field(payload)[0].rule == "BIL-12"


def test_booleans_are_not_counts() -> None:
    # True == 1 in Python; in JSON a boolean is not a number, so the rule has nothing to judge.
    payload = derived(1, {**dict.fromkeys(STATUS_COUNTS, 0), "deliveredCount": 1})
    payload["progress"]["deliveredCount"] = True
    assert check_cross_field(payload) == []


def test_not_a_payload_breaks_no_rule() -> None:
    assert check_cross_field(None) == []
    assert check_cross_field([1, 2]) == []
    assert check_cross_field({"progress": "soon"}) == []
