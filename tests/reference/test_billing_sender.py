"""The simulated sender's step function: progress to completion, newest delivery per invoice."""

from __future__ import annotations

import random

import pytest

from reference.billing.progress import DeliveryStatus, derive_progress
from reference.billing.sender import FINAL, next_step


def simulate(expected: int, failure_share: float, seed: int = 1) -> list[dict[int, DeliveryStatus]]:
    rng = random.Random(seed)
    newest: dict[int, DeliveryStatus] = {}
    history = []
    for _ in range(100):
        moves, finished = next_step(expected, newest, rng, failure_share)
        newest.update(dict(moves))
        history.append(dict(newest))
        if finished:
            return history
    raise AssertionError("the simulation did not finish")


@pytest.mark.parametrize("expected", [1, 7, 25, 1000])
def test_a_run_reaches_completion_with_every_invoice_final(expected: int) -> None:
    history = simulate(expected, 0.05)
    final = history[-1]
    assert len(final) == expected
    assert all(status in FINAL for status in final.values())
    counts = {s: list(final.values()).count(s) for s in DeliveryStatus}
    assert derive_progress(expected, counts).is_complete


def test_progress_is_visible_in_several_steps() -> None:
    history = simulate(30, 0.0)
    assert len(history) >= 5
    completes = [
        derive_progress(30, {s: list(h.values()).count(s) for s in DeliveryStatus}).is_complete
        for h in history
    ]
    assert completes[0] is False
    assert completes[-1] is True


def test_failure_share_one_fails_or_bounces_everything() -> None:
    final = simulate(20, 1.0)[-1]
    assert set(final.values()) <= {DeliveryStatus.FAILED, DeliveryStatus.BOUNCED}


def test_failure_share_zero_never_fails() -> None:
    final = simulate(50, 0.0)[-1]
    assert set(final.values()) == {DeliveryStatus.DELIVERED}


def test_empty_run_finishes_at_once() -> None:
    assert next_step(0, {}, random.Random(1), 0.1) == ([], True)
