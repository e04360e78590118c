"""Reading a recording the way the checks need it: events, payloads, times in milliseconds.

Times in a :class:`~conformance.recorder.Recording` are seconds since the request started; the
stream start (TIME-1) is ``headers_at``. Checks speak milliseconds since the stream start.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from conformance.errors import HarnessError, RemoteProtocolError
from conformance.model import ObservationUnusable
from conformance.recorder import EndKind, RecordedItem, Recording, Timed
from conformance.wire import Decoder, Event, Field

__all__ = [
    "CONTROL_EVENTS",
    "Located",
    "Payload",
    "compact",
    "data_events",
    "ended_cleanly",
    "events",
    "excerpt",
    "is_event_stream",
    "locate_items",
    "ms_since_start",
    "parse_json",
    "redecode",
    "require_stream",
    "watched_ms",
]

CONTROL_EVENTS = ("heartbeat", "timeout", "error")


def events(recording: Recording) -> list[Timed[Event]]:
    """Every dispatched event, in order."""
    return recording.events()


def data_events(recording: Recording, event_name: str) -> list[Timed[Event]]:
    """The profile's data events (spec/01-terms.md), in order."""
    return recording.events(event_name)


def ms_since_start(recording: Recording, at: float) -> float:
    """A recording time as milliseconds since the stream start (TIME-1: headers received)."""
    start = recording.headers_at if recording.headers_at is not None else 0.0
    return round((at - start) * 1000.0, 1)


def is_event_stream(recording: Recording) -> bool:
    content_type = recording.header("content-type") or ""
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"


def require_stream(recording: Recording, what: str) -> None:
    """Raise :class:`ObservationUnusable` unless ``recording`` is a 200 event stream.

    Checks of the stream's content cannot say anything about a stream that never opened; the
    transport checks give the FAIL for that, these checks an ERROR that points there.
    """
    if recording.status is None:
        detail = recording.end_detail or (recording.end.name if recording.end else "no answer")
        raise ObservationUnusable(f"{what}: no response headers received ({detail})")
    if recording.status != 200:
        raise ObservationUnusable(
            f"{what}: the stream request answered {recording.status} (see transport.status-200)"
        )


@dataclass(frozen=True, slots=True)
class Payload:
    """An event's data parsed as one JSON document (WF-7), or why it is not one."""

    value: Any
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None


def parse_json(data: str) -> Payload:
    """WF-7: exactly one JSON document (RFC 8259), whitespace around it allowed.

    ``json.loads`` accepts NaN and Infinity, which RFC 8259 does not; they are rejected here.
    """

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return Payload(json.loads(data, parse_constant=reject), None)
    except ValueError as exc:
        return Payload(None, str(exc))


def ended_cleanly(recording: Recording) -> bool:
    return recording.end is EndKind.CLEAN_EOF


def excerpt(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class Located:
    """A recorded item with its time since the stream start (ms) and the body offset just past
    its last byte (None when the body was not kept whole)."""

    ms: float
    item: RecordedItem
    end_offset: int | None


def redecode(body: bytes) -> list[tuple[int, RecordedItem]]:
    """Decode ``body`` one byte at a time: every chunk boundary there is (P3).

    Returns each item with the offset just past the byte that completed it.
    """
    decoder = Decoder()
    out: list[tuple[int, RecordedItem]] = []
    for offset in range(len(body)):
        for item in decoder.feed(body[offset : offset + 1]):
            if not isinstance(item, Field):
                out.append((offset + 1, item))
    out.extend((len(body), partial) for partial in decoder.close())
    return out


# Many checks locate the items of the same few recordings; re-decoding is byte by byte, so the
# result is kept, keyed by the recording's identity and size (a live recording only grows).
_LOCATED: dict[int, tuple[Recording, int, int, list[Located]]] = {}
_LOCATED_MAX = 64


def locate_items(recording: Recording) -> list[Located]:
    """Every recorded item located in time and, when possible, in the body.

    The body is re-decoded at every chunk boundary; if that disagrees with what the recorder
    decoded chunk by chunk, the harness is at fault, not the server.
    """
    cached = _LOCATED.get(id(recording))
    size = (len(recording.items), recording.body_bytes)
    if cached is not None and cached[0] is recording and (cached[1], cached[2]) == size:
        return cached[3]
    located = _locate(recording)
    if len(_LOCATED) >= _LOCATED_MAX:
        _LOCATED.clear()
    _LOCATED[id(recording)] = (recording, len(recording.items), recording.body_bytes, located)
    return located


def _locate(recording: Recording) -> list[Located]:
    items = list(recording.items)
    offsets: list[int | None] = [None] * len(items)
    if not recording.chunks_truncated and recording.end is not EndKind.LIMIT_EXCEEDED:
        try:
            again = redecode(recording.body())
        except RemoteProtocolError:
            again = None
        if again is not None:
            if [item for _, item in again] != [timed.item for timed in items]:
                raise HarnessError(
                    f"{recording.url}: decoding the body byte by byte gave different items than "
                    "decoding it chunk by chunk"
                )
            offsets = [offset for offset, _ in again]
    return [
        Located(ms_since_start(recording, timed.at), timed.item, offset)
        for timed, offset in zip(items, offsets, strict=True)
    ]


def watched_ms(recording: Recording) -> float:
    """How long the recording watched the stream, in ms since the stream start (TIME-6)."""
    end = recording.end_at
    if end is None:
        end = recording.last_byte_at or recording.headers_at or 0.0
    return ms_since_start(recording, end)


def compact(value: object) -> str:
    """A short canonical JSON rendering for expected/actual lines."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
