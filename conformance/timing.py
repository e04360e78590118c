"""How time is judged (spec/11-timing.md, TIME-1 to TIME-6).

Pure functions over milliseconds: no clock is read here, so every rule is unit-tested in plain
numbers. Observation times come from the recorder (TIME-1: headers and event terminators on a
monotonic clock) and from the control client (TIME-2: when an operation's response arrived).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["CadenceStats", "Tolerance", "gaps"]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """TIME-3: the tolerance for a nominal duration P is max(A, R x P)."""

    floor_ms: float = 250.0
    ratio: float = 0.25

    def __post_init__(self) -> None:
        if self.floor_ms < 0:
            raise ValueError("the tolerance floor must not be negative")
        if not 0 <= self.ratio < 1:
            raise ValueError("the tolerance ratio must be at least 0 and below 1")

    def of(self, nominal_ms: float) -> float:
        """The tolerance in milliseconds for a duration whose nominal value is ``nominal_ms``."""
        return max(self.floor_ms, self.ratio * nominal_ms)

    def latest(self, nominal_ms: float) -> float:
        """TIME-4 "within P": the latest acceptable time, P plus its tolerance."""
        return nominal_ms + self.of(nominal_ms)

    def within(self, observed_ms: float, nominal_ms: float) -> bool:
        """TIME-4: "within P" holds when ``observed_ms`` is no later than P plus the tolerance."""
        return observed_ms <= self.latest(nominal_ms)

    def window(self, nominal_ms: float) -> tuple[float, float]:
        """TIME-4 "after P" (a cadence): the earliest and latest acceptable times."""
        tolerance = self.of(nominal_ms)
        return nominal_ms - tolerance, nominal_ms + tolerance

    def on_cadence(self, observed_ms: float, nominal_ms: float) -> bool:
        """TIME-4: a cadence holds when ``observed_ms`` lies within P ± the tolerance."""
        low, high = self.window(nominal_ms)
        return low <= observed_ms <= high


@dataclass(frozen=True, slots=True)
class CadenceStats:
    """TIME-5: what a timing verdict records about a series of gaps (milliseconds)."""

    count: int
    min_ms: float | None
    median_ms: float | None
    max_ms: float | None

    @classmethod
    def of(cls, gaps_ms: Sequence[float]) -> CadenceStats:
        if not gaps_ms:
            return cls(0, None, None, None)
        return cls(
            len(gaps_ms),
            round(min(gaps_ms), 1),
            round(statistics.median(gaps_ms), 1),
            round(max(gaps_ms), 1),
        )

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "gaps": self.count,
            "minMs": self.min_ms,
            "medianMs": self.median_ms,
            "maxMs": self.max_ms,
        }

    def describe(self) -> str:
        if not self.count:
            return "no gaps"
        return (
            f"{self.count} gaps: min {self.min_ms:.0f} ms, median {self.median_ms:.0f} ms, "
            f"max {self.max_ms:.0f} ms"
        )


def gaps(times_ms: Sequence[float]) -> list[float]:
    """The differences between consecutive times."""
    return [later - earlier for earlier, later in itertools.pairwise(times_ms)]
