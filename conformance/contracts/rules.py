"""Cross-field rules of ``billing.invoice-send-progress@1`` that JSON Schema cannot state.

BIL-11 to BIL-15 (spec/13-billing-profile.md) relate fields of one payload to each other, so they
are checkable on any payload alone; the harness applies them to every data event it sees and
``ssegate contracts validate`` to every document.

A rule is only judged when the fields it reads have the right types: a missing or mistyped field
is the schema's finding, and repeating it here as a rule violation would report one fault twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["STATUS_COUNTS", "RuleViolation", "check_cross_field"]

# The six delivery-status counts of the progress object (BIL-9), in the order of the spec.
STATUS_COUNTS: tuple[str, ...] = (
    "queuedCount",
    "sentCount",
    "deliveredCount",
    "delayedCount",
    "failedCount",
    "bouncedCount",
)


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A payload breaks ``requirement`` (e.g. ``BIL-12``) at JSON pointer ``pointer``."""

    requirement: str
    pointer: str
    message: str

    @property
    def rule(self) -> str:
        """The requirement ID, under the name ContractError uses for its keyword."""
        return self.requirement


def _count(value: object) -> int | None:
    # JSON numbers: 3 and 3.0 are the same integer for JSON Schema; a bool is not a number.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _check_progress(progress: Mapping[str, Any]) -> list[RuleViolation]:
    found: list[RuleViolation] = []
    counts = {name: _count(progress.get(name)) for name in STATUS_COUNTS}
    expected = _count(progress.get("expectedInvoiceCount"))
    processed = _count(progress.get("processedInvoiceCount"))
    pending = _count(progress.get("pendingCount"))
    complete = _flag(progress.get("isComplete"))
    failures = _flag(progress.get("hasFailures"))
    known = {name: c for name, c in counts.items() if c is not None}
    all_counts = len(known) == len(STATUS_COUNTS)

    if processed is not None and all_counts:
        total = sum(known.values())
        if processed != total:
            found.append(
                RuleViolation(
                    "BIL-11",
                    "/progress/processedInvoiceCount",
                    f"processedInvoiceCount is {processed}, "
                    f"but the six status counts add up to {total}",
                )
            )
    if pending is not None and expected is not None and processed is not None:
        want = max(expected - processed, 0)
        if pending != want:
            found.append(
                RuleViolation(
                    "BIL-12",
                    "/progress/pendingCount",
                    f"pendingCount is {pending}, but max(expectedInvoiceCount {expected} "
                    f"- processedInvoiceCount {processed}, 0) is {want}",
                )
            )
    queued = known.get("queuedCount")
    if complete is not None and pending is not None and queued is not None:
        want_complete = pending == 0 and queued == 0
        if complete != want_complete:
            found.append(
                RuleViolation(
                    "BIL-13",
                    "/progress/isComplete",
                    f"progress.isComplete is {_js(complete)}, but pendingCount is {pending} "
                    f"and queuedCount is {queued}, so it must be {_js(want_complete)}",
                )
            )
    failed, bounced = known.get("failedCount"), known.get("bouncedCount")
    if failures is not None and failed is not None and bounced is not None:
        want_failures = failed + bounced > 0
        if failures != want_failures:
            found.append(
                RuleViolation(
                    "BIL-14",
                    "/progress/hasFailures",
                    f"hasFailures is {_js(failures)}, but failedCount + bouncedCount is "
                    f"{failed + bounced}, so it must be {_js(want_failures)}",
                )
            )
    return found


def _js(flag: bool) -> str:
    return "true" if flag else "false"


def check_cross_field(payload: object) -> list[RuleViolation]:
    """Every BIL-11..BIL-15 violation of one ``BillingInvoiceSendProgressEvent`` payload."""
    if not isinstance(payload, Mapping):
        return []
    progress = payload.get("progress")
    if not isinstance(progress, Mapping):
        # null progress (not sent yet, BIL-16) leaves nothing to cross-check here.
        return []
    found = _check_progress(progress)
    event_complete = _flag(payload.get("isComplete"))
    progress_complete = _flag(progress.get("isComplete"))
    if (
        event_complete is not None
        and progress_complete is not None
        and event_complete != progress_complete
    ):
        found.append(
            RuleViolation(
                "BIL-15",
                "/isComplete",
                f"isComplete is {_js(event_complete)}, but progress.isComplete is "
                f"{_js(progress_complete)}; they must be equal",
            )
        )
    return found
