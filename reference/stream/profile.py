"""What a profile tells the stream core, and the three timing parameters (TERM-1, TERM-2)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

S = TypeVar("S")


@dataclass(frozen=True, slots=True)
class StreamTiming:
    """``intervalMs`` < ``heartbeatMs`` < ``timeoutMs``, all positive integers (TERM-2)."""

    interval_ms: int
    heartbeat_ms: int
    timeout_ms: int

    def __post_init__(self) -> None:
        problem = timing_problem(self.interval_ms, self.heartbeat_ms, self.timeout_ms)
        if problem is not None:
            raise ValueError(problem)

    @property
    def interval(self) -> float:
        return self.interval_ms / 1000

    @property
    def heartbeat(self) -> float:
        return self.heartbeat_ms / 1000

    @property
    def timeout(self) -> float:
        return self.timeout_ms / 1000


def timing_problem(interval_ms: int, heartbeat_ms: int, timeout_ms: int) -> str | None:
    """A sentence saying why the parameters break TERM-2, or None when they are fine."""
    for name, value in (
        ("interval-ms", interval_ms),
        ("heartbeat-ms", heartbeat_ms),
        ("timeout-ms", timeout_ms),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return f"{name} must be a positive integer, got {value!r}"
    if not interval_ms < heartbeat_ms < timeout_ms:
        return (
            "the parameters must satisfy interval-ms < heartbeat-ms < timeout-ms (TERM-2), got "
            f"{interval_ms}, {heartbeat_ms}, {timeout_ms}"
        )
    return None


@dataclass(frozen=True, slots=True)
class StreamProfile(Generic[S]):
    """How one kind of resource is streamed.

    - ``event``: the data event name (WF-6).
    - ``change_key``: the part of a snapshot whose change is worth an event (CHG-1, CHG-3);
      any hashable value compared with ``==`` (a tuple, a frozen dataclass, a digest).
    - ``is_complete``: the completion rule (END-5).
    - ``to_payload``: the JSON-able payload of a snapshot (WF-7).
    """

    event: str
    change_key: Callable[[S], Hashable]
    is_complete: Callable[[S], bool]
    to_payload: Callable[[S], Any]
