"""Typed events: what a subscriber receives once a parsed event's data is interpreted (CLI-3).

`interpret(parsed, profile)` turns a `ParsedEvent` into a `Snapshot`, `Heartbeat`, `Timeout` or
`ServerError`, or raises `InvalidEvent`, which the subscription reports and skips (no crash).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from reference.client._errors import InvalidEvent
from reference.client._parser import ParsedEvent
from reference.client._payloads import (
    ErrorPayload,
    HeartbeatPayload,
    SendProgressPayload,
    TimeoutPayload,
)

__all__ = [
    "BILLING_SEND_PROGRESS",
    "Heartbeat",
    "ServerError",
    "Snapshot",
    "StreamProfile",
    "Timeout",
    "TypedEvent",
    "interpret",
]

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class StreamProfile(Generic[P]):
    """What a client must know of a profile: data event name, payload model, completion rule."""

    event: str
    model: type[P]
    is_complete: Callable[[P], bool]


def _send_progress_complete(payload: SendProgressPayload) -> bool:
    return payload.is_complete  # BIL-3


BILLING_SEND_PROGRESS: StreamProfile[SendProgressPayload] = StreamProfile(
    event="billing.invoice-send-progress",
    model=SendProgressPayload,
    is_complete=_send_progress_complete,
)


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[P]):
    """A data event: the resource's current state; `complete` ends the subscription (CLI-8)."""

    payload: P
    complete: bool
    id: str | None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class Timeout:
    """The planned end of a stream (END-1): the subscription reconnects at once (CLI-9)."""

    started_at: datetime
    timestamp: datetime
    timeout_ms: int


@dataclass(frozen=True, slots=True)
class ServerError:
    """An `error` event: `code` is None when the server sent plain text (ERR-15)."""

    code: str | None
    message: str


TypedEvent = Snapshot[P] | Heartbeat | Timeout | ServerError


def _validate(model: type[P], parsed: ParsedEvent) -> P:
    try:
        # Strict JSON mode: a date-time must be a string, a count an integer (not 5 or "5").
        return model.model_validate_json(parsed.data, strict=True)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors()):  # WF-7
            raise InvalidEvent(parsed.type, parsed.data, "data is not JSON") from None
        problems = "; ".join(
            f"{'/'.join(str(part) for part in error['loc']) or '(root)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidEvent(parsed.type, parsed.data, problems) from None


def interpret(parsed: ParsedEvent, profile: StreamProfile[P]) -> TypedEvent[P]:
    """The typed event for `parsed`, or `InvalidEvent` when its name or data is wrong (CLI-3)."""
    if parsed.type == profile.event:
        payload = _validate(profile.model, parsed)
        return Snapshot(payload=payload, complete=profile.is_complete(payload), id=parsed.id)
    if parsed.type == "heartbeat":
        return Heartbeat(timestamp=_validate(HeartbeatPayload, parsed).timestamp)
    if parsed.type == "timeout":
        timeout = _validate(TimeoutPayload, parsed)
        return Timeout(
            started_at=timeout.started_at,
            timestamp=timeout.timestamp,
            timeout_ms=timeout.timeout_ms,
        )
    if parsed.type == "error":
        # ERR-14 asks for {"code", "message"}; ERR-15 allows plain text, kept as the message.
        try:
            error = ErrorPayload.model_validate_json(parsed.data)
        except ValidationError:
            return ServerError(code=None, message=parsed.data)
        return ServerError(code=error.code, message=error.message)
    # WF-6: no other name is allowed; report it and keep reading (a tolerant reader, CLI-4).
    raise InvalidEvent(parsed.type, parsed.data, "unknown event name")
