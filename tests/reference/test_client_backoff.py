"""Backoff arithmetic and the attempt counter (reference/client/_backoff.py; CLI-5 to CLI-7)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.client import Backoff, BackoffPolicy

_unit = st.floats(min_value=0, max_value=1, exclude_max=True)
_policies = st.builds(
    BackoffPolicy,
    max_attempts=st.integers(min_value=0, max_value=10),
    initial_delay_ms=st.integers(min_value=0, max_value=10_000),
    max_delay_ms=st.integers(min_value=0, max_value=60_000),
    factor=st.floats(min_value=1, max_value=5),
    jitter=st.floats(min_value=0, max_value=0.9),
)


def test_origin_defaults() -> None:
    policy = BackoffPolicy()
    assert (policy.max_attempts, policy.initial_delay_ms, policy.max_delay_ms) == (3, 500, 8000)
    assert (policy.factor, policy.jitter) == (2, 0.2)


def test_default_delays_without_jitter() -> None:
    policy = BackoffPolicy()
    # unit_random 0.5 is the middle of the jitter band: no jitter.
    assert [policy.delay_ms(n, 0.5) for n in range(1, 7)] == [500, 1000, 2000, 4000, 8000, 8000]


def test_default_jitter_band_edges() -> None:
    policy = BackoffPolicy()
    assert policy.delay_ms(1, 0.0) == 400
    assert policy.delay_ms(2, 0.999999) == 1200
    assert policy.delay_ms(5, 0.0) == 6400  # 8000 · 0.8: jitter applies below the cap


@given(policy=_policies, attempt=st.integers(min_value=1, max_value=3000), unit=_unit)
def test_delay_within_cap_and_jitter_band(policy: BackoffPolicy, attempt: int, unit: float) -> None:
    delay = policy.delay_ms(attempt, unit)
    assert 0 <= delay <= policy.max_delay_ms
    try:
        base = policy.initial_delay_ms * policy.factor ** (attempt - 1)
    except OverflowError:
        base = float("inf")
    low = min(policy.max_delay_ms, base * (1 - policy.jitter))
    high = min(policy.max_delay_ms, base * (1 + policy.jitter))
    assert low - 0.5 <= delay <= high + 0.5  # rounded to whole milliseconds


@given(policy=_policies, units=st.lists(_unit, min_size=1, max_size=20))
def test_attempts_are_counted_and_capped(policy: BackoffPolicy, units: list[float]) -> None:
    draws = iter(units * 20)
    backoff = Backoff(policy=policy, rng=lambda: next(draws))
    delays = [backoff.next_delay_ms() for _ in range(policy.max_attempts + 2)]
    assert all(delay is not None for delay in delays[: policy.max_attempts])
    assert delays[policy.max_attempts :] == [None, None]
    assert backoff.attempts == policy.max_attempts


@given(policy=_policies, unit=_unit)
def test_reset_starts_again_at_the_first_delay(policy: BackoffPolicy, unit: float) -> None:
    backoff = Backoff(policy=policy, rng=lambda: unit)
    first = [backoff.next_delay_ms() for _ in range(policy.max_attempts)]
    backoff.reset()  # CLI-6: after a successful open
    assert backoff.attempts == 0
    assert [backoff.next_delay_ms() for _ in range(policy.max_attempts)] == first


@given(retry=st.integers(min_value=0, max_value=100_000), unit=_unit)
def test_server_retry_is_a_lower_bound(retry: int, unit: float) -> None:
    backoff = Backoff(rng=lambda: unit)
    plain = BackoffPolicy().delay_ms(1, unit)
    assert backoff.next_delay_ms(retry) == max(plain, retry)  # CLI-7


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": -1}, {"initial_delay_ms": -1}, {"factor": 0.5}, {"jitter": 1.0}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        BackoffPolicy(**kwargs)  # type: ignore[arg-type]


def test_attempt_is_one_based() -> None:
    with pytest.raises(ValueError, match="1-based"):
        BackoffPolicy().delay_ms(0, 0.5)
