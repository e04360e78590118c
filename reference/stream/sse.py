"""A subscription as an HTTP response: FastAPI's SSE framing, our headers, our end.

Framing comes from ``fastapi.sse`` (``format_sse_event``: one ``event:`` line, one ``data:`` line of
JSON, LF line ends, an empty line; WF-3 to WF-9). The response class is ``fastapi.sse``'s
``EventSourceResponse`` with its ``__call__`` replaced, because the generator-endpoint route that
normally drives it adds what a snapshot stream must not have or does not need: a keep-alive comment
timer (a comment is never a heartbeat, HB-6), a ``Cache-Control: no-cache`` we would have to
override, and two extra tasks and memory streams per connection. docs/reference-server.md says more.

Per connection this costs one task for the response and one that waits for ``http.disconnect``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
from datetime import datetime
from typing import Any

from fastapi.sse import EventSourceResponse, format_sse_event
from starlette.types import Receive, Scope, Send

from reference.stream.clock import rfc3339
from reference.stream.frames import DataEvent, EndReason, Frame, Heartbeat, Timeout
from reference.stream.hub import Subscription

# TR-7, TR-8, TR-9. No Content-Encoding (TR-10), no Content-Length (TR-13), no Connection (TR-12).
STREAM_HEADERS = {
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",
}

# END-8: a stream whose writes are stuck (a client that stopped reading) is cut this long after
# its timeout was due, instead of being held open forever.
_STUCK_GRACE_SECONDS = 1.0


def encode_frame(frame: Frame) -> bytes:
    """The bytes of one event. No ``id`` on any event (WF-10 makes ids optional; HB-4 forbids
    them on heartbeats) and no ``retry``."""
    if isinstance(frame, DataEvent):
        return format_sse_event(event=frame.event, data_str=frame.data)
    if isinstance(frame, Heartbeat):
        return _heartbeat_event(frame.timestamp)
    if isinstance(frame, Timeout):
        return _json_event(
            "timeout",
            {
                "startedAt": rfc3339(frame.started_at),
                "timestamp": rfc3339(frame.timestamp),
                "timeoutMs": frame.timeout_ms,
            },
        )
    return _json_event("error", {"code": frame.code, "message": frame.message})


@functools.lru_cache(maxsize=16)
def _heartbeat_event(timestamp: datetime) -> bytes:
    """The hottest path at 10,000 streams. Every heartbeat sent in one wake of the hub's schedule
    carries the same timestamp, so the event is encoded once per wake and reused by each of its
    subscribers. An RFC 3339 string needs no JSON escaping, so the document is formatted directly
    instead of through json.dumps."""
    return format_sse_event(event="heartbeat", data_str=f'{{"timestamp":"{rfc3339(timestamp)}"}}')


def _json_event(name: str, payload: dict[str, Any]) -> bytes:
    return format_sse_event(event=name, data_str=json.dumps(payload, separators=(",", ":")))


class SnapshotStreamResponse(EventSourceResponse):
    """Writes a subscription's frames as they come, and ends the body cleanly after the last.

    The initial snapshot is already in the mailbox when the response starts, so headers and the
    first event leave together (TR-11, SNAP-1). Each event is one ``send``: uvicorn writes it to
    the socket at once (TR-11). A client disconnect closes the subscription, which releases its
    timers and its poller membership at once (LIFE-1, LIFE-2).
    """

    def __init__(self, subscription: Subscription[Any], timeout_seconds: float) -> None:
        super().__init__(content=(), headers=STREAM_HEADERS)
        self.subscription = subscription
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscription = self.subscription
        listener = asyncio.ensure_future(_wait_for_disconnect(receive, subscription))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout_seconds + _STUCK_GRACE_SECONDS
        try:
            async with asyncio.timeout_at(deadline):
                await send(
                    {"type": "http.response.start", "status": 200, "headers": self.raw_headers}
                )
                while (frame := await subscription.next_frame()) is not None:
                    body = encode_frame(frame)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if subscription.end_reason in (EndReason.DISCONNECT, EndReason.OVERFLOW):
                    # The peer is gone or not reading: no final chunk, the connection is dropped.
                    return
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except TimeoutError:
            subscription.close(EndReason.OVERFLOW)
        except OSError:
            subscription.close(EndReason.DISCONNECT)
        finally:
            subscription.close(EndReason.DISCONNECT)
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener


async def _wait_for_disconnect(receive: Receive, subscription: Subscription[Any]) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.close(EndReason.DISCONNECT)
            return
