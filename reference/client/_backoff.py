"""Capped, jittered exponential backoff for reconnection (CLI-5, CLI-6, CLI-7).

Pure arithmetic plus a counter: the random source is injected, so tests draw the jitter themselves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Backoff", "BackoffPolicy"]


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """How long to wait before each reconnection attempt (CLI-5 defaults, the origin's values).

    `max_attempts` counts reconnection attempts after a failure; the first connection is not one.
    The delay of attempt n (1-based) is min(max_delay_ms, initial_delay_ms · factor^(n−1) · j),
    j drawn uniformly from [1 − jitter, 1 + jitter], rounded to whole milliseconds.
    """

    max_attempts: int = 3
    initial_delay_ms: int = 500
    max_delay_ms: int = 8000
    factor: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 0:
            raise ValueError("max_attempts must be >= 0")
        if self.initial_delay_ms < 0 or self.max_delay_ms < 0:
            raise ValueError("delays must be >= 0")
        if self.factor < 1:
            raise ValueError("factor must be >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def delay_ms(self, attempt: int, unit_random: float) -> int:
        """The delay before reconnection attempt `attempt` (1-based), `unit_random` in [0, 1)."""
        if attempt < 1:
            raise ValueError("attempt is 1-based")
        spread = 1 - self.jitter + 2 * self.jitter * unit_random
        try:
            raw = self.initial_delay_ms * self.factor ** (attempt - 1) * spread
        except OverflowError:  # a huge attempt number: far beyond any cap
            return self.max_delay_ms
        if raw >= self.max_delay_ms:  # also keeps round() away from infinity
            return self.max_delay_ms
        return round(raw)


@dataclass(slots=True)
class Backoff:
    """The attempt counter of one subscription.

    `next_delay_ms(retry_ms)` counts an attempt and returns its delay, or None when the attempts are
    used up. A server `retry` value is the lower bound of the delay (CLI-7). `reset()` after a
    successful open (CLI-6).
    """

    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    rng: Callable[[], float] = random.random
    attempts: int = 0

    def next_delay_ms(self, retry_ms: int | None = None) -> int | None:
        if self.attempts >= self.policy.max_attempts:
            return None
        self.attempts += 1
        delay = self.policy.delay_ms(self.attempts, self.rng())
        if retry_ms is not None:
            delay = max(delay, retry_ms)
        return delay

    def reset(self) -> None:
        self.attempts = 0
