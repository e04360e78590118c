"""What flows out of a subscription: one noun per kind of event, and why a stream ended."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class DataEvent:
    """A snapshot payload, already serialised to one line of JSON (WF-7, WF-8).

    ``final`` marks the complete snapshot after which the stream ends (END-5, END-6).
    """

    event: str
    data: str
    final: bool


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """``heartbeat`` event with ``{"timestamp"}`` and never an id (HB-1, HB-4)."""

    timestamp: datetime


@dataclass(frozen=True, slots=True)
class Timeout:
    """``timeout`` event with ``{"startedAt", "timestamp", "timeoutMs"}``, then the end (END-1)."""

    started_at: datetime
    timestamp: datetime
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class StreamError:
    """``error`` event ``{"code", "message"}`` (ERR-14), then the end. Messages are fixed texts,
    never exception details (ERR-16)."""

    code: str
    message: str


Frame = DataEvent | Heartbeat | Timeout | StreamError


class EndReason(enum.Enum):
    COMPLETE = "complete"  # a complete snapshot was the last frame (END-5)
    TIMEOUT = "timeout"  # the timeout event was the last frame (END-1)
    ERROR = "error"  # an error event was the last frame (ERR-13)
    SHUTDOWN = "shutdown"  # the server is stopping (LIFE-3)
    DISCONNECT = "disconnect"  # the client went away (LIFE-1)
    OVERFLOW = "overflow"  # the client stopped reading; its connection is dropped (LIFE-4)


def is_terminal(frame: Frame) -> bool:
    """Whether nothing may follow ``frame`` on the stream (END-3, END-6, END-7)."""
    if isinstance(frame, DataEvent):
        return frame.final
    return isinstance(frame, Timeout | StreamError)
